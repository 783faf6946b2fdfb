"""Is a value valid against one of the platform's JSON Schemas? Answered without jsonschema.

The platform's schemas (rules/rule.schema.json, the item-type file schema, the schema of each
item type's items) use a small part of Draft 2020-12, and almost every value a crawl checks is
valid. :meth:`LeanValidator.verdict` answers ``True`` (valid), ``False`` (not valid) or ``None``
(the schema uses a keyword or format outside that part). Only when the answer is not ``True``
do callers import jsonschema (:mod:`crawler.rules.jsonschema_lean`), for the messages that say
what is wrong, so a crawl of valid rules and items never loads it: about 5 MiB resident in every
crawl process (benchmarks/bench_plain.py measures the crawl's peak).

The semantics are jsonschema's own, keyword by keyword: ``bool`` is neither an integer nor a
number, ``1.0`` is an integer, ``enum`` and ``uniqueItems`` tell ``True`` from ``1``,
``pattern`` is :func:`re.search`, a ``format`` is asserted only with the checks it was given.
tests/crawler/rules/test_lean_schema.py holds both validators to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from numbers import Number
from typing import Any

# Keywords that only describe: they never make a value invalid.
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated"}
)
MAX_DEPTH = 200  # deeper than any rule: give the answer to jsonschema
MAX_UNIQUE = 1_000  # uniqueItems is checked pair by pair up to this many items


class _Unknown(Exception):
    """The schema asks for something this validator does not implement."""


def _integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


TYPES: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": _integer,
    "number": lambda v: isinstance(v, Number) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _number(value: Any) -> bool:
    return TYPES["number"](value)


def equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: ``True`` is not ``1``, in lists and mappings too."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(k in two and equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


class LeanValidator:
    """``LeanValidator(schema, formats).verdict(value)``: ``True``, ``False`` or ``None``.

    ``formats`` maps a format name to a check (``value -> bool``, or raising ``ValueError``);
    without it, ``format`` is an annotation, as in jsonschema without a format checker.
    """

    def __init__(
        self, schema: Mapping[str, Any], formats: Mapping[str, Callable] | None = None
    ) -> None:
        self.root = schema
        self.formats = formats

    def verdict(self, value: Any) -> bool | None:
        try:
            return self._valid(self.root, value, 0)
        except _Unknown:
            return None
        except RecursionError:
            return None

    # -- one schema, one value ------------------------------------------------------------------

    def _valid(self, schema: Any, value: Any, depth: int) -> bool:
        if schema is True or schema == {}:
            return True
        if schema is False:
            return False
        if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
            raise _Unknown
        for keyword, arg in schema.items():
            if keyword in ANNOTATIONS or keyword == "$defs":
                continue
            check = _KEYWORDS.get(keyword)
            if check is None:
                raise _Unknown(keyword)
            if not check(self, arg, value, schema, depth + 1):
                return False
        return True

    def _ref(self, ref: Any, value: Any, schema: Any, depth: int) -> bool:
        if ref == "#":
            return self._valid(self.root, value, depth)
        if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
            raise _Unknown(ref)
        target = self.root.get("$defs", {}).get(ref[len("#/$defs/") :])
        if target is None or "/" in ref[len("#/$defs/") :]:
            raise _Unknown(ref)
        return self._valid(target, value, depth)

    def _format(self, name: Any, value: Any, schema: Any, depth: int) -> bool:
        if self.formats is None:
            return True
        check = self.formats.get(name)
        if check is None:
            raise _Unknown(name)
        try:
            return bool(check(value))
        except ValueError:
            return False

    def _properties(self, props: Any, value: Any, schema: Any, depth: int) -> bool:
        if not isinstance(value, dict):
            return True
        return all(
            self._valid(sub, value[key], depth) for key, sub in props.items() if key in value
        )

    def _pattern_properties(self, patterns: Any, value: Any, schema: Any, depth: int) -> bool:
        if not isinstance(value, dict):
            return True
        return all(
            self._valid(sub, item, depth)
            for pattern, sub in patterns.items()
            for key, item in value.items()
            if _regex(pattern).search(key)
        )

    def _additional(self, sub: Any, value: Any, schema: Any, depth: int) -> bool:
        if not isinstance(value, dict):
            return True
        known = schema.get("properties", {})
        patterns = [_regex(p) for p in schema.get("patternProperties", {})]
        extra = [
            key for key in value if key not in known and not any(p.search(key) for p in patterns)
        ]
        return all(self._valid(sub, value[key], depth) for key in extra)

    def _property_names(self, sub: Any, value: Any, schema: Any, depth: int) -> bool:
        if not isinstance(value, dict):
            return True
        return all(self._valid(sub, key, depth) for key in value)

    def _items(self, sub: Any, value: Any, schema: Any, depth: int) -> bool:
        if not isinstance(value, list):
            return True
        if "prefixItems" in schema:
            raise _Unknown("prefixItems")
        return all(self._valid(sub, item, depth) for item in value)

    def _unique(self, unique: Any, value: Any, schema: Any, depth: int) -> bool:
        if not unique or not isinstance(value, list):
            return True
        if len(value) > MAX_UNIQUE:
            raise _Unknown("uniqueItems")
        return not any(
            equal(value[i], value[j]) for i in range(len(value)) for j in range(i + 1, len(value))
        )

    def _one_of(self, subs: Any, value: Any, schema: Any, depth: int) -> bool:
        return sum(1 for sub in subs if self._valid(sub, value, depth)) == 1

    def _any_of(self, subs: Any, value: Any, schema: Any, depth: int) -> bool:
        return any(self._valid(sub, value, depth) for sub in subs)

    def _all_of(self, subs: Any, value: Any, schema: Any, depth: int) -> bool:
        return all(self._valid(sub, value, depth) for sub in subs)

    def _not(self, sub: Any, value: Any, schema: Any, depth: int) -> bool:
        return not self._valid(sub, value, depth)


def _type(v: LeanValidator, types: Any, value: Any, schema: Any, depth: int) -> bool:
    names = [types] if isinstance(types, str) else types
    try:
        return any(TYPES[name](value) for name in names)
    except KeyError:
        raise _Unknown(types) from None


def _bound(test: Callable[[Any, Any], bool], applies: Callable[[Any], bool]) -> Callable:
    def check(v: LeanValidator, arg: Any, value: Any, schema: Any, depth: int) -> bool:
        return not applies(value) or test(value, arg)

    return check


def _sized(kind: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, kind) and not isinstance(value, bool)


_KEYWORDS: dict[str, Callable[..., bool]] = {
    "type": _type,
    "enum": lambda v, arg, value, s, d: any(equal(value, choice) for choice in arg),
    "const": lambda v, arg, value, s, d: equal(value, arg),
    "$ref": LeanValidator._ref,
    "format": LeanValidator._format,
    "properties": LeanValidator._properties,
    "patternProperties": LeanValidator._pattern_properties,
    "additionalProperties": LeanValidator._additional,
    "propertyNames": LeanValidator._property_names,
    "required": lambda v, arg, value, s, d: (
        not isinstance(value, dict) or all(key in value for key in arg)
    ),
    "items": LeanValidator._items,
    "uniqueItems": LeanValidator._unique,
    "oneOf": LeanValidator._one_of,
    "anyOf": LeanValidator._any_of,
    "allOf": LeanValidator._all_of,
    "not": LeanValidator._not,
    "pattern": _bound(lambda value, arg: bool(_regex(arg).search(value)), _sized(str)),
    "minimum": _bound(lambda value, arg: value >= arg, _number),
    "maximum": _bound(lambda value, arg: value <= arg, _number),
    "exclusiveMinimum": _bound(lambda value, arg: value > arg, _number),
    "exclusiveMaximum": _bound(lambda value, arg: value < arg, _number),
    "minLength": _bound(lambda value, arg: len(value) >= arg, _sized(str)),
    "maxLength": _bound(lambda value, arg: len(value) <= arg, _sized(str)),
    "minItems": _bound(lambda value, arg: len(value) >= arg, _sized(list)),
    "maxItems": _bound(lambda value, arg: len(value) <= arg, _sized(list)),
    "minProperties": _bound(lambda value, arg: len(value) >= arg, _sized(dict)),
    "maxProperties": _bound(lambda value, arg: len(value) <= arg, _sized(dict)),
}
