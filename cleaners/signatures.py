"""What a cleaner's signature means for YAML: its keyword arguments (:class:`Param`), their
types (from annotations), and how the ``args`` of a chain item bind to them (:func:`bind`)."""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cleaners.value_preview import preview

_NO_DEFAULT = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    """One keyword argument of a cleaner, as YAML sees it."""

    name: str
    default: Any = _NO_DEFAULT
    hint: Any = Any

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True)
class Cleaner:
    """A registered cleaner: the function and what the registry learnt from its signature.

    ``prepare``, when given, receives the keyword arguments written in YAML and returns the ones
    to bind (e.g. with a compiled regular expression); a ``ValueError`` it raises is an argument
    problem reported by :meth:`Registry.check`.
    """

    name: str
    fn: Callable[..., Any]
    whole_list: bool = False
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    params: tuple[Param, ...] = ()
    wants_ctx: bool = False

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.fn) or ""

    @property
    def primary(self) -> Param | None:
        """The argument a shorthand (``{name: value}``) sets, or None if there is none."""
        required = [p for p in self.params if p.required]
        if len(required) == 1:
            return required[0]
        if not required and self.params:
            return self.params[0]
        return None

    def signature(self) -> str:
        """``name {arg, arg=default}`` for listings and messages."""
        if not self.params:
            return self.name
        args = ", ".join(
            p.name if p.required else f"{p.name}={_show_default(p.default)}" for p in self.params
        )
        return f"{self.name} {{{args}}}"


def _show_default(value: Any) -> str:
    return "<keep>" if value is KEEP else repr(value)


class _Keep:
    def __repr__(self) -> str:
        return "<keep>"


#: Default of an argument meaning "leave the value as it is" (``map``'s ``default``).
KEEP: Any = _Keep()


def read_signature(name: str, fn: Callable[..., Any]) -> tuple[tuple[Param, ...], bool]:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cleaner {name!r}: cannot read the signature of {fn!r}") from exc
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: arguments are then not type-checked
        hints = {}
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"cleaner {name!r}: the first parameter must be the value (positional)")
    params: list[Param] = []
    wants_ctx = False
    for p in parameters[1:]:
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(
                f"cleaner {name!r}: parameter {p.name!r} must be keyword-only (put it after *)"
            )
        if p.name == "ctx":
            wants_ctx = True
            continue
        params.append(Param(p.name, p.default, hints.get(p.name, Any)))
    return tuple(params), wants_ctx


# -- argument type checks, from the cleaner's annotations -------------------------------------

_TYPE_WORDS: dict[Any, str] = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    tuple: "a list",
    dict: "a mapping",
    Mapping: "a mapping",
    Sequence: "a list",
    type(None): "null",
    re.Pattern: "a regular expression",
}


def _type_accepts(hint: Any, value: Any) -> bool:
    """Whether ``value`` fits ``hint``; hints this does not understand accept anything."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_type_accepts(h, value) for h in typing.get_args(hint))
    base = origin or hint
    if base is type(None) or hint is None:
        return value is None
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    if base in (list, tuple, Sequence):
        return isinstance(value, list | tuple)
    if base in (dict, Mapping):
        return isinstance(value, Mapping)
    if base is re.Pattern:
        return isinstance(value, str | re.Pattern)
    return True


def _type_words(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        words = [_type_words(h) for h in typing.get_args(hint)]
        return " or ".join(dict.fromkeys(w for w in words if w))
    return _TYPE_WORDS.get(origin or hint, "")


def _accepts_mapping(hint: Any) -> bool:
    return _type_accepts(hint, {})


def bind(entry: Cleaner, args: Any) -> tuple[dict[str, Any], list[str]]:
    """Turn the YAML ``args`` of one chain item into keyword arguments, or problems."""
    name = entry.name
    by_name = {p.name: p for p in entry.params}
    primary = entry.primary
    if args is None:
        kwargs: dict[str, Any] = {}
    elif isinstance(args, Mapping) and _is_kwargs(entry, args):
        kwargs = dict(args)
    elif not entry.params:
        return {}, [f"cleaner {name!r} takes no arguments, got {preview(args)}"]
    elif primary is None:
        required = [p.name for p in entry.params if p.required]
        example = ", ".join(f"{r}: ..." for r in required)
        return {}, [
            f"cleaner {name!r} takes several arguments ({', '.join(required)}): "
            f"write them as a mapping, e.g. {{{name}: {{{example}}}}}"
        ]
    else:
        kwargs = {primary.name: args}

    problems = []
    suggested = set()
    for key in kwargs:
        if key not in by_name:
            close = difflib.get_close_matches(str(key), list(by_name), n=1, cutoff=0.6)
            suggested.update(close)
            hint = f" (did you mean {close[0]!r}?)" if close else _takes(entry)
            problems.append(f"cleaner {name!r}: unexpected argument {key!r}{hint}")
    for p in entry.params:
        if p.required and p.name not in kwargs and p.name not in suggested:
            problems.append(f"cleaner {name!r}: missing required argument {p.name!r}")
    for key, value in kwargs.items():
        p = by_name.get(key)
        if p is not None and not _type_accepts(p.hint, value):
            words = _type_words(p.hint) or "another type"
            problems.append(
                f"cleaner {name!r}: argument {key!r} must be {words}, got {preview(value)}"
            )
    return kwargs, problems


def _takes(entry: Cleaner) -> str:
    if not entry.params:
        return f" ({entry.name!r} takes no arguments)"
    return f" (arguments: {', '.join(p.name for p in entry.params)})"


def _is_kwargs(entry: Cleaner, args: Mapping[Any, Any]) -> bool:
    names = {p.name for p in entry.params}
    primary = entry.primary
    if not args:
        # {name: {}}: no arguments, unless the primary argument is required and takes a mapping
        return primary is None or not primary.required or not _accepts_mapping(primary.hint)
    if all(isinstance(k, str) and k in names for k in args):
        return True
    # A mapping the primary argument cannot take is meant as keyword arguments with a typo.
    if primary is None or not _accepts_mapping(primary.hint):
        return True
    # So is one whose keys all are, or look like, parameter names ({map: {tabel: ...}}).
    return all(
        isinstance(k, str) and difflib.get_close_matches(k, names, n=1, cutoff=0.75) for k in args
    )
