"""What a reader asks of a store beyond writing (the data service, exports, push sinks): pages
of items by keyset cursor, filtered and sorted, with a count; dead letters; a change feed.

Pure shapes shared by every backend: :class:`ItemQuery`, :class:`Page` and the opaque cursors.
A cursor is the position after the last document returned (the sort value and the backend's
own tie-breaker), never an offset, so a deep page costs what the first one does.

Documents whose sort field is missing or null are listed too: before the others when sorting
ascending, after them when descending (a cursor says which of the two parts it is in).

>>> q = ItemQuery(sort="-price", limit=2)
>>> q.sort_field, q.descending
('price', True)
>>> decode_cursor(encode_cursor(["v", 12.5, 7]))
['v', 12.5, 7]
>>> filter_value('12'), filter_value('"12"'), filter_value('true'), filter_value('abc')
(12, '12', True, 'abc')
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The crawl time of an item (set at extraction); ``since``/``until`` filter on it.
CRAWLED_AT_FIELD = "_crawled_at"
#: Documents carry their key as text (``["value", ...]``, canonical JSON) in this field.
KEY_FIELD = "_key"

# A field a query may name: word characters, dots (nested, in MongoDB) and dashes; never an
# operator ($...) or anything that needs quoting beyond a JSON path.
_FIELD = re.compile(r"^\w[\w.\-]{0,127}$")
# A cursor is a few plain values: a tag, the sort value, a tie-breaker.
_CURSOR_ITEMS = 4
#: Characters of a text query (``q=``) and of a contains/prefix value; terms of a text query.
TEXT_MAX = 200
TEXT_TERMS = 8


class CursorError(ValueError):
    """A cursor that this store did not hand out (or that belongs to another query)."""


def check_field(name: str) -> str:
    """``name`` if it may be queried, else ValueError.

    >>> check_field("price")
    'price'
    >>> check_field("$where")
    Traceback (most recent call last):
    ...
    ValueError: not a field name: '$where'
    """
    if not isinstance(name, str) or not _FIELD.match(name):
        raise ValueError(f"not a field name: {name!r}")
    return name


def filter_value(text: str) -> Any:
    """A filter value from a query string: JSON scalars (numbers, true, false, null, "quoted
    text") as themselves, anything else as text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict | list):
        return text
    return value


def text_terms(text: str) -> list[str]:
    """The terms of a text query (split on white space, each kept once); ValueError when it is
    empty or too long. Every term must be found in an item (AND), as a substring.

    >>> text_terms("  红色 dress 红色 ")
    ['红色', 'dress']
    """
    if not isinstance(text, str) or len(text) > TEXT_MAX:
        raise ValueError(f"a text query is at most {TEXT_MAX} characters")
    terms = list(dict.fromkeys(text.split()))
    if not terms:
        raise ValueError("a text query needs a word")
    if len(terms) > TEXT_TERMS:
        raise ValueError(f"a text query has at most {TEXT_TERMS} words")
    return terms


def check_match(value: str) -> str:
    """A contains/prefix value: non-empty text of at most TEXT_MAX characters."""
    if not isinstance(value, str) or not 0 < len(value) <= TEXT_MAX:
        raise ValueError(f"a contains/prefix value is 1 to {TEXT_MAX} characters")
    return value


def like_escape(text: str) -> str:
    r"""``text`` in a SQL ``LIKE ? ESCAPE '\'`` pattern, its wildcards taken literally.

    >>> like_escape("50%_off")
    '50\\%\\_off'
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ItemQuery:
    """Which documents of a collection, in which order, from where."""

    filters: Mapping[str, Any] = field(default_factory=dict)  # field -> value (equality)
    # field -> True: it holds a value (not null), False: it is missing or null
    exists: Mapping[str, bool] = field(default_factory=dict)
    since: str | None = None  # ``_crawled_at >= since`` (ISO 8601, UTC)
    until: str | None = None  # ``_crawled_at < until``
    sort: str | None = None  # ``field`` or ``-field``; None: storage order
    limit: int = 50
    cursor: str | None = None
    count: bool = False  # also count every document matching (without the cursor)
    text: str | None = None  # every word in the item's text (:func:`text_terms`)
    contains: Mapping[str, str] = field(default_factory=dict)  # field -> substring (any case)
    prefix: Mapping[str, str] = field(default_factory=dict)  # field -> its start (exact case)

    def __post_init__(self) -> None:
        for name in (*self.filters, *self.exists, *self.contains, *self.prefix):
            check_field(name)
        for value in (*self.contains.values(), *self.prefix.values()):
            check_match(value)
        if self.text is not None:
            text_terms(self.text)
        if self.sort is not None:
            check_field(self.sort.removeprefix("-"))
        if self.limit < 1:
            raise ValueError("limit must be at least 1")

    @property
    def sort_field(self) -> str | None:
        return self.sort.removeprefix("-") if self.sort else None

    @property
    def descending(self) -> bool:
        return bool(self.sort and self.sort.startswith("-"))

    def index_fields(self) -> list[str]:
        """The fields an index serving this query covers: equality filters, then the sort."""
        fields = sorted(self.filters)
        if self.sort_field and self.sort_field not in fields:
            fields.append(self.sort_field)
        return fields


@dataclass
class Page:
    """One page of documents and the cursor of the next (None: this was the last)."""

    items: list[dict[str, Any]]
    next: str | None = None
    count: int | None = None


def encode_cursor(position: list[Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _plain(value: Any) -> bool:
    """Whether a cursor may hold ``value``: what a store binds as a plain value; never a list or
    an object (which a MongoDB query would read as operators), an integer SQLite cannot bind or
    a float that is not finite."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | str)


def decode_cursor(text: str | None) -> list[Any] | None:
    """The position a cursor stands for; CursorError if it is not one of ours: not base64url
    JSON, or not a short list of plain values (a crafted cursor is refused here, before a store
    binds what it holds).

    >>> decode_cursor(encode_cursor(["r", {"$gt": ""}]))
    Traceback (most recent call last):
    ...
    crawler.store.browse.CursorError: invalid cursor
    >>> decode_cursor(encode_cursor(["r", 2**70]))
    Traceback (most recent call last):
    ...
    crawler.store.browse.CursorError: invalid cursor
    """
    if not text:
        return None
    if len(text) > 4096:
        raise CursorError("cursor too long")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        value = json.loads(raw)
    except (ValueError, RecursionError):  # binascii.Error, bad UTF-8 or JSON; too deep
        raise CursorError("invalid cursor") from None
    if not isinstance(value, list) or not 0 < len(value) <= _CURSOR_ITEMS:
        raise CursorError("invalid cursor")
    if not all(_plain(v) for v in value):
        raise CursorError("invalid cursor")
    return value


def sort_phases(descending: bool) -> tuple[str, str]:
    """The two parts of a sorted listing, in order: ``"n"`` (sort value missing or null) and
    ``"v"`` (a value). Null sorts first ascending (as SQLite and MongoDB sort it)."""
    return ("v", "n") if descending else ("n", "v")


def strip_dead_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A dead letter back as the item it was (its reason, time and id removed)."""
    return {k: v for k, v in doc.items() if k not in ("_reason", "_dead_at", "_dead_id")}


class StoreReader(Protocol):
    """What a backend composes to read as the data service does (:attr:`Store.reader`); the
    :class:`Store` methods of the same names say what each one answers."""

    def page_items(self, collection: str, query: ItemQuery) -> Page: ...

    def get_item(self, collection: str, key: str) -> dict[str, Any] | None: ...

    def get_items(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def item_history(self, collection: str, key: str, limit: int) -> list[dict[str, Any]]: ...

    def ensure_index(self, collection: str, fields: Sequence[str]) -> bool: ...

    def ensure_search(self, collection: str) -> bool: ...

    def dead_page(self, collection: str, limit: int, cursor: str | None) -> Page: ...

    def dead_by_ids(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def remove_dead(self, collection: str, ids: Sequence[str]) -> int: ...

    def changes(
        self, collection: str, limit: int, cursor: str | None, before: str | None = None
    ) -> Page: ...

    def runs_page(
        self, rule: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    def run_parts(self, run_id: str, limit: int = 1000) -> list[dict[str, Any]]: ...

    def get_run(self, run_id: str) -> dict[str, Any] | None: ...
