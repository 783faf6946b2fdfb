"""The JSON Schema of rule files, generated from the sections' declarations, and the wording of
its errors for people.

This module is the source of ``rules/rule.schema.json`` (regenerate with ``make schema``; a test
checks that the shipped file is current). The schema covers shape and types; what a schema cannot
say (an XPath that does not compile, a link to a page type that does not exist, an unknown
cleaner) is checked by the sections themselves.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from crawler.rules.lean_schema import LeanValidator
from crawler.rules.problems import Reporter, did_you_mean
from crawler.rules.sections import sections

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://crawler-platform.local/schemas/rule.schema.json"


def rule_schema() -> dict[str, Any]:
    """The whole schema: every section's top-level properties and definitions."""
    properties: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    required: list[str] = []
    for section in sections():
        properties.update(copy.deepcopy(dict(section.properties)))
        defs.update(copy.deepcopy(dict(section.defs)))
        required += section.required
    for section in sections():
        for name, extra in section.extends.items():
            defs[name].setdefault("properties", {}).update(copy.deepcopy(dict(extra)))
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "Crawler platform site rule",
        "type": "object",
        "properties": properties,
        "required": sorted(required),
        "additionalProperties": False,
        "$defs": defs,
    }


def schema_json() -> str:
    return json.dumps(rule_schema(), indent=2, ensure_ascii=False) + "\n"


if TYPE_CHECKING:
    from crawler.rules.jsonschema_lean import Draft202012Validator


@lru_cache(maxsize=1)
def _lean() -> LeanValidator:
    return LeanValidator(rule_schema())


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    """jsonschema, imported only to word the problems of a rule that is not valid."""
    from crawler.rules.jsonschema_lean import Draft202012Validator

    return Draft202012Validator(rule_schema())


TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def python_type(value: Any) -> str:
    """How a person would call the type of a YAML value."""
    for kind, types in (
        ("true or false", bool),
        ("a mapping", dict),
        ("a list", list),
        ("a string", str),
        ("a number", (int, float)),
    ):
        if isinstance(value, types):
            return kind
    return "null" if value is None else type(value).__name__


class SchemaFindings(NamedTuple):
    """What the schema found. ``unknown`` keys (a misspelt ``feilds``) break nothing around
    them: no section reads a key the schema does not declare, so ``accepted`` is the data
    without them, and the rest of their mapping is built. ``broken`` values (a wrong type, a
    missing required key, a value out of its enum, a mapping that dropping a key left short)
    are not built: the schema's message says what is wrong."""

    accepted: Any
    broken: frozenset[tuple]
    unknown: frozenset[tuple]


def schema_problems(data: Any, report: Reporter) -> SchemaFindings:
    """Report every schema error of ``data``, worded for a person; return where they are."""
    if _lean().verdict(data) is True:
        return SchemaFindings(data, frozenset(), frozenset())
    paths = []
    unknown = []
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        broken = tuple(error.absolute_path)
        error = _specific(error)
        path = tuple(error.absolute_path)
        kind = error.validator
        if kind == "additionalProperties" and isinstance(error.instance, dict):
            # an unknown key breaks nothing: the rest of its mapping is still built and checked
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    unknown.append(path + (key,))
                    report.error(path + (key,), f"unknown field {key!r}{did_you_mean(key, known)}")
            continue
        paths.append(broken)
        if kind == "type":
            expected = error.validator_value
            expected = [expected] if isinstance(expected, str) else expected
            names = " or ".join(TYPE_NAMES.get(t, t) for t in expected)
            report.error(path, f"expected {names}, got {python_type(error.instance)}")
        elif kind == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            report.error(path, f"missing required field {missing!r}")
        elif kind == "enum":
            choices = ", ".join(map(str, error.validator_value))
            report.error(path, f"must be one of {choices}; got {error.instance!r}")
        elif kind == "oneOf":
            report.error(path, _one_of_message(error))
        elif kind == "pattern" and path and path[-1] != "name" and isinstance(error.instance, str):
            report.error(
                path,
                f"{error.instance!r} is not a valid name here (pattern {error.validator_value})",
            )
        elif kind == "propertyNames":
            report.error(path, f"invalid name {error.instance!r}: {error.message}")
        elif kind in ("minItems", "minProperties"):
            report.error(path, "must not be empty")
        elif kind == "maxProperties" and isinstance(error.instance, dict):
            most = error.validator_value
            keys = ", ".join(map(str, error.instance))
            report.error(path, f"takes {'one key' if most == 1 else f'{most} keys'}; found {keys}")
        else:
            report.error(path, error.message)
    accepted = without(data, frozenset(unknown))
    if unknown:  # e.g. an action of one key, the misspelt one: reported through that key
        paths += [tuple(e.absolute_path) for e in _validator().iter_errors(accepted)]
    return SchemaFindings(accepted, frozenset(paths), frozenset(unknown))


def without(data: Any, paths: frozenset[tuple]) -> Any:
    """A copy of ``data`` without the mapping keys at ``paths`` (``data`` is left as it is).

    >>> data = {"a": {"b": 1, "c": 2}, "d": [{"e": 3, "f": 4}]}
    >>> without(data, frozenset({("a", "c"), ("d", 0, "f")})), data["a"]
    ({'a': {'b': 1}, 'd': [{'e': 3}]}, {'b': 1, 'c': 2})
    """
    if not paths:
        return data
    data = copy.deepcopy(data)
    for path in paths:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return data


def _specific(error: Any) -> Any:
    """For a value that fits none of several shapes: when its type picked one of them, the
    error within that shape (a cleaner mapping with two keys, not "expected a string or a
    list, got a list")."""
    while error.validator == "oneOf":
        within = [
            sub
            for sub in error.context
            if not (sub.validator == "type" and sub.absolute_path == error.absolute_path)
        ]
        if not within or len({sub.relative_schema_path[0] for sub in within}) != 1:
            break
        error = min(within, key=lambda sub: len(sub.absolute_path))
    return error


def _one_of_message(error: Any) -> str:
    kinds = []
    for sub in error.validator_value:
        if "type" in sub:  # one type, or a list of them (an argument's scalar)
            types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
            kinds += [TYPE_NAMES.get(t, t) for t in types]
        elif "$ref" in sub:
            name = str(sub["$ref"]).rsplit("/", 1)[-1]
            kind = _lean().root["$defs"].get(name, {}).get("type", "object")  # built once
            if "selector" in name or "field" in name:
                kinds.append("a selector mapping")
            else:
                kinds.append(
                    TYPE_NAMES.get(kind, "a mapping") if isinstance(kind, str) else "a mapping"
                )
    if kinds:
        return f"expected {' or '.join(dict.fromkeys(kinds))}, got {python_type(error.instance)}"
    return error.message
