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
from typing import Any

from jsonschema import Draft202012Validator

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


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
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


def schema_problems(data: Any, report: Reporter) -> list[tuple]:
    """Report every schema error of ``data``, worded for a person; return their paths."""
    paths = []
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path = tuple(error.absolute_path)
        kind = error.validator
        if kind == "additionalProperties" and isinstance(error.instance, dict):
            # only the unknown key is broken: the rest of the mapping can still be checked
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    paths.append(path + (key,))
                    report.error(path + (key,), f"unknown field {key!r}{did_you_mean(key, known)}")
            continue
        paths.append(path)
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
        else:
            report.error(path, error.message)
    return paths


def _one_of_message(error: Any) -> str:
    kinds = []
    for sub in error.validator_value:
        if "type" in sub:  # one type, or a list of them (an argument's scalar)
            types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
            kinds += [TYPE_NAMES.get(t, t) for t in types]
        elif "$ref" in sub:
            kinds.append("a selector mapping")
    if kinds:
        return f"expected {' or '.join(dict.fromkeys(kinds))}, got {python_type(error.instance)}"
    return error.message
