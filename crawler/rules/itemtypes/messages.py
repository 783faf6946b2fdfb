"""How item-type validation errors are worded for a person, with the cleaner that likely fixes them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from jsonschema.exceptions import ValidationError

from cleaners.registry import CleanContext, preview
from crawler.rules.problems import did_you_mean

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


def _type_hint(expected: str, value: Any) -> str:
    """Which cleaner would most likely fix a type mismatch."""
    got = _json_type(value)
    if expected == "number" and got == "string":
        return " (add to_number or price to its clean chain)"
    if expected == "integer" and got == "string":
        return " (add to_int to its clean chain)"
    if expected == "integer" and got == "number":
        return " (add to_int to its clean chain)"
    if expected == "string" and got in ("number", "integer", "boolean"):
        return " (add to_str to its clean chain)"
    if expected == "string" and got == "array":
        return " (add first or join to its clean chain)"
    if expected == "boolean" and got in ("string", "integer"):
        return " (add to_bool to its clean chain)"
    if expected == "array" and got == "string":
        return " (extract every match, or add split to its clean chain)"
    return ""


def top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def path_text(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(
    error: ValidationError, key: tuple[str, ...], mapping: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``(field path, message)`` pairs for one jsonschema error, worded for a person."""
    kind, expected, value = error.validator, error.validator_value, error.instance
    where = path_text(error.absolute_path)
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
                message = "is null; lists may not hold nulls (add compact to its clean chain)"
            return [(where, message)]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return [
            (
                where,
                f"{shown} is {_TYPE_WORDS[_json_type(value)]}, not {words}{_type_hint(types[0], value)}",
            )
        ]
    if kind == "enum":
        allowed = ", ".join(map(str, (v for v in expected if v is not None)))
        return [(where, f"{shown} is not one of {allowed}")]
    if kind == "format":
        hint = ""
        if expected == "uri" and isinstance(value, str) and not urlsplit(value).scheme:
            hint = " (add absolute_url to its clean chain)"
        if expected in ("date", "date-time") and not re.match(r"\d{4}-\d\d-\d\d", str(value)):
            hint = " (add date to its clean chain)"
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
        return [(where, "has repeated elements (add unique to its clean chain)")]
    return [(where or "item", error.message)]
