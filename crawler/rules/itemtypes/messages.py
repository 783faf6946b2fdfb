"""How item-type validation errors are worded for a person, with the cleaner that likely fixes them."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cleaners.registry import CleanContext, preview
from crawler.rules.problems import did_you_mean

if TYPE_CHECKING:
    from crawler.rules.jsonschema_lean import ValidationError

__all__ = ["context_of", "describe", "did_you_mean", "path_text", "top"]


def context_of(item: Mapping[str, Any]) -> CleanContext:
    url = item.get("_url")
    crawled = item.get("_crawled_at")
    if isinstance(crawled, str):
        try:
            crawled = datetime.fromisoformat(crawled.replace("Z", "+00:00"))
        except ValueError:
            crawled = None
    if isinstance(crawled, datetime) and crawled.tzinfo is None:
        crawled = crawled.replace(tzinfo=UTC)
    return CleanContext(
        url=url if isinstance(url, str) else None,
        crawl_time=crawled if isinstance(crawled, datetime) else None,
    )


_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}

_FORMAT_WORDS = {
    "date": "a date in the form YYYY-MM-DD",
    "date-time": "a date-time (ISO 8601, e.g. 2024-03-05T14:30:00)",
    "time": "a time (HH:MM:SS)",
    "uri": "an absolute URI",
    "uri-reference": "a URI",
    "email": "an email address",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "uuid": "a UUID",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


# (expected JSON type, the value's JSON type) -> cleaners that would most likely fix it
_TYPE_FIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("number", "string"): ("to_number", "price"),
    ("integer", "string"): ("to_int",),
    ("integer", "number"): ("to_int",),
    ("string", "number"): ("to_str",),
    ("string", "integer"): ("to_str",),
    ("string", "boolean"): ("to_str",),
    ("string", "array"): ("first", "join"),
    ("boolean", "string"): ("to_bool",),
    ("boolean", "integer"): ("to_bool",),
    ("array", "string"): ("split",),
}


def _fix(cleaners: tuple[str, ...], has: Collection[str], lead: str = "") -> str:
    """`` (add x or y to its clean chain)``, naming only cleaners the chain does not have yet;
    when it has them all, that a cleaner after them changes the value again.

    >>> _fix(("first", "join"), set()), _fix(("first", "join"), {"join"})
    (' (add first or join to its clean chain)', ' (add first to its clean chain)')
    >>> _fix(("to_int",), {"strip", "to_int"})
    ' (its clean chain has to_int already: a cleaner after it changes the value again)'
    """
    missing = [name for name in cleaners if name not in has]
    if missing:
        return f" ({lead}add {' or '.join(missing)} to its clean chain)"
    if cleaners:
        return (
            f" (its clean chain has {' and '.join(cleaners)} already: a cleaner after it "
            "changes the value again)"
        )
    return ""


def _type_hint(expected: str, value: Any, has: Collection[str] = ()) -> str:
    """Which cleaner would most likely fix a type mismatch (never one ``has`` names)."""
    got = _json_type(value)
    lead = "extract every match, or " if (expected, got) == ("array", "string") else ""
    return _fix(_TYPE_FIXES.get((expected, got), ()), has, lead)


def top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def path_text(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(
    error: ValidationError,
    key: tuple[str, ...],
    mapping: Mapping[str, str],
    chains: Mapping[str, Collection[str]] | None = None,
) -> list[tuple[str, str]]:
    """``(field path, message)`` pairs for one jsonschema error, worded for a person.
    ``chains``: per field, the cleaners its value went through (a hint never asks for one of
    them)."""
    kind, expected, value = error.validator, error.validator_value, error.instance
    where = path_text(error.absolute_path)
    has = (chains or {}).get(top(where), ())
    if kind == "required":
        missing = [f for f in expected if isinstance(value, Mapping) and f not in value]
        return [
            (
                f,
                ("key field" if f in key else "required field")
                + f" is missing (no {mapping.get(f, f)!r} in the extracted item)",
            )
            for f in missing
        ]
    if kind == "additionalProperties" and isinstance(value, Mapping):
        declared = error.schema.get("properties", {})
        extra = [k for k in value if k not in declared and not str(k).startswith("_")]
        return [(str(k), f"is not a declared field{did_you_mean(str(k), declared)}") for k in extra]
    shown = preview(value)
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        types = [t for t in types if t != "null"]
        if value is None:
            message = "is null, but a value is required"
            if error.absolute_path and isinstance(error.absolute_path[-1], int):
                message = "is null; lists may not hold nulls" + _fix(("compact",), has)
            return [(where, message)]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return [
            (
                where,
                f"{shown} is {_TYPE_WORDS[_json_type(value)]}, not {words}"
                + _type_hint(types[0], value, has),
            )
        ]
    if kind == "enum":
        allowed = ", ".join(map(str, (v for v in expected if v is not None)))
        return [(where, f"{shown} is not one of {allowed}")]
    if kind == "format":
        hint = ""
        if expected == "uri" and isinstance(value, str) and not urlsplit(value).scheme:
            hint = _fix(("absolute_url",), has)
        if expected in ("date", "date-time") and not re.match(r"\d{4}-\d\d-\d\d", str(value)):
            hint = _fix(("date",), has)
        return [(where, f"{shown} is not {_FORMAT_WORDS.get(expected, expected)}{hint}")]
    if kind == "minLength" and value == "":
        return [(where, "is empty, but a value is required")]
    if kind == "minLength":
        return [(where, f"{shown} is shorter than {expected} characters")]
    if kind == "maxLength":
        return [(where, f"{shown} is longer than {expected} characters")]
    if kind == "pattern":
        return [(where, f"{shown} does not match the pattern {expected!r}")]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {
            "minimum": "less than the minimum of",
            "maximum": "greater than the maximum of",
            "exclusiveMinimum": "not greater than",
            "exclusiveMaximum": "not less than",
        }[kind]
        return [(where, f"{shown} is {relation} {expected}")]
    if kind == "minItems":
        return [(where, f"has {len(value)} element(s), fewer than {expected}")]
    if kind == "maxItems":
        return [(where, f"has {len(value)} element(s), more than {expected}")]
    if kind == "uniqueItems":
        return [(where, "has repeated elements" + _fix(("unique",), has))]
    return [(where or "item", error.message)]
