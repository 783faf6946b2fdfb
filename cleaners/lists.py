"""Cleaners for missing values, lookup tables and lists.

All but ``map`` are registered ``whole_list=True``: they receive the whole value (``None`` and
lists included) instead of one element at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cleaners.registry import cleaner
from cleaners.signatures import KEEP


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple) and len(value) == 0)


@cleaner("default", whole_list=True)
def default(current: Any, /, *, value: Any) -> Any:
    """``value`` when the value is missing: None, ``''`` or ``[]``; otherwise the value itself.

    >>> default(None, value="n/a"), default("", value=0), default([], value=[]), default("x", value="n/a")
    ('n/a', 0, [], 'x')
    """
    return value if _empty(current) else current


def _prepare_map(kwargs: dict[str, Any]) -> dict[str, Any]:
    table = dict(kwargs["table"])
    # YAML reads `1: one` as an int key while extracted values are text: accept both.
    table.update({str(k): v for k, v in kwargs["table"].items() if not isinstance(k, str)})
    kwargs["table"] = table
    return kwargs


@cleaner("map", prepare=_prepare_map)
def map_(value: Any, *, table: Mapping[Any, Any], default: Any = KEEP) -> Any:
    """Look the value up in ``table``; a value not in it becomes ``default`` (kept if not given).

    >>> map_("女", table={"男": "M", "女": "F"})
    'F'
    >>> map_("?", table={"男": "M"}), map_("?", table={"男": "M"}, default=None)
    ('?', None)
    """
    try:
        return table[value]
    except (KeyError, TypeError):
        pass
    if not isinstance(value, str) and str(value) in table:
        return table[str(value)]
    return value if default is KEEP else default


@cleaner("join", whole_list=True)
def join(value: Any, *, sep: str = " ") -> Any:
    """Join a list into one text with ``sep``, skipping None; other values are unchanged.

    >>> join(["a", None, "b", 3], sep=", "), join("x"), join([])
    ('a, b, 3', 'x', '')
    """
    if not isinstance(value, list | tuple):
        return value
    return sep.join(str(v) for v in value if v is not None)


@cleaner("split", whole_list=True)
def split(value: Any, *, sep: str | None = None, maxsplit: int = -1) -> Any:
    """Split text into a list at ``sep`` (any whitespace by default); a list of texts is flattened.

    >>> split("a, b,c", sep=","), split("a b  c")
    (['a', ' b', 'c'], ['a', 'b', 'c'])
    >>> split(["a|b", None, "c"], sep="|")
    ['a', 'b', None, 'c']
    """
    if isinstance(value, str):
        return value.split(sep, maxsplit)
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for v in value:
            if isinstance(v, str):
                out.extend(v.split(sep, maxsplit))
            else:
                out.append(v)
        return out
    return value


@cleaner("first", whole_list=True)
def first(value: Any) -> Any:
    """The first element of a list that is not None or ``''`` (None if there is none).

    >>> first([None, "", "a", "b"]), first([]), first("x")
    ('a', None, 'x')
    """
    if not isinstance(value, list | tuple):
        return value
    return next((v for v in value if not _empty(v)), None)


@cleaner("last", whole_list=True)
def last(value: Any) -> Any:
    """The last element of a list that is not None or ``''`` (None if there is none).

    >>> last(["a", "b", None]), last([])
    ('b', None)
    """
    if not isinstance(value, list | tuple):
        return value
    return next((v for v in reversed(value) if not _empty(v)), None)


@cleaner("unique", whole_list=True)
def unique(value: Any) -> Any:
    """Drop repeated elements of a list, keeping the first of each in order.

    >>> unique(["b", "a", "b", "c", "a"])
    ['b', 'a', 'c']
    """
    if not isinstance(value, list | tuple):
        return value
    seen: list[Any] = []
    for v in value:
        if v not in seen:  # a list, not a set: elements may be unhashable and lists are short
            seen.append(v)
    return seen


@cleaner("compact", whole_list=True)
def compact(value: Any) -> Any:
    """Drop None and ``''`` elements from a list (e.g. after ``split`` and ``strip``).

    >>> compact(["a", "", None, "b"])
    ['a', 'b']
    """
    if not isinstance(value, list | tuple):
        return value
    return [v for v in value if not _empty(v)]
