"""Item types: the business shape of an item (a book, an article, a job posting).

An item type is a YAML file that the crawler parses into a dict and hands to
:meth:`ItemType.from_dict`::

    name: book
    key: [upc]                 # fields identifying an item (default: [url], or _url without one)
    history: true              # keep previous versions when an item changes (the store's job)
    fields:
      title: {type: string, required: true, clean: [collapse_whitespace]}
      price: {type: number, required: true, minimum: 0}
      tags:  {type: array, items: {type: string}}

:meth:`ItemType.apply` maps an extracted item onto the type, runs the type's cleaner chains and
validates the result against a JSON Schema built from ``fields`` (Draft 2020-12, with formats
checked). A field declaration is a JSON Schema for the value plus two keys of ours: ``required``
and ``clean``. Optional fields may be null; required ones may not, and a required string may
not be empty. Key fields are required.

:func:`item_type_schema` is the JSON Schema of the item-type YAML itself.

>>> book = ItemType.from_dict({
...     "name": "book", "key": ["upc"],
...     "fields": {
...         "upc": {"type": "string", "required": True},
...         "price": {"type": "number", "minimum": 0, "clean": ["to_number"]},
...     },
... })
>>> result = book.apply({"sku": "a1", "price": "£51.77", "_url": "https://x.example/1"}, {"upc": "sku"})
>>> result.item, result.errors
({'_url': 'https://x.example/1', 'upc': 'a1', 'price': 51.77}, [])
>>> book.apply({"price": "-3"}).errors
["upc: key field is missing (no 'upc' in the extracted item)", 'price: -3 is less than the minimum of 0']
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from cleaners.registry import REGISTRY, Chain, CleanContext, CleanError, Registry, preview
from crawler.rules.itemtypes.messages import context_of, describe, did_you_mean, path_text, top
from crawler.rules.itemtypes.near_duplicates import NearDuplicates, near_duplicates_of
from crawler.rules.itemtypes.schema import FIELD_NAME, NAME, item_type_schema
from crawler.rules.lean_schema import LeanValidator

# jsonschema is imported only to word what is wrong (crawler/rules/lean_schema.py)
if TYPE_CHECKING:
    from crawler.rules.jsonschema_lean import Draft202012Validator, FormatChecker, ValidationError

__all__ = ["ItemType", "ItemTypeError", "Result", "item_type_schema"]

_OURS = ("required", "clean")  # keys of a field declaration that are not JSON Schema


class ItemTypeError(ValueError):
    """An item type that cannot be used; ``problems`` holds ``(path, message)`` pairs."""

    def __init__(self, name: str, problems: list[tuple[str, str]]) -> None:
        self.name = name
        self.problems = problems
        details = "; ".join(f"{path}: {message}" if path else message for path, message in problems)
        super().__init__(f"item type {name!r}: {details}")


@dataclass(frozen=True)
class Result:
    """The outcome of :meth:`ItemType.apply`.

    ``item`` is the cleaned item; ``errors`` are ``field: message`` lines a person can act on
    (an item with errors belongs in the dead-letter collection); ``raw`` holds the values, as
    extracted, of the fields whose cleaner failed (those fields are None in ``item``);
    ``dropped`` names the extracted fields the type does not use.
    """

    item: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, eq=False)
class ItemType:
    """A compiled item type; build it with :meth:`from_dict`."""

    name: str
    key: tuple[str, ...]
    history: bool
    fields: Mapping[str, Mapping[str, Any]] = field(repr=False)  # the declarations, as written
    chains: Mapping[str, Chain] = field(repr=False)  # field -> compiled cleaner chain
    schema: Mapping[str, Any] = field(repr=False)  # the JSON Schema of a cleaned item
    description: str = ""
    near_duplicates: NearDuplicates | None = field(default=None, repr=False)  # near_duplicates.py

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, registry: Registry = REGISTRY) -> ItemType:
        """Build an item type from its parsed YAML.

        Raises :class:`ItemTypeError` (a ``ValueError``) listing every problem with its path:
        the file's shape (checked against :func:`item_type_schema`), cleaner chains, key fields
        that are not declared, contradictory bounds and field schemas that are not valid.
        """
        name = data.get("name", "?") if isinstance(data, Mapping) else "?"
        problems = _shape_problems(data)
        if problems:
            raise ItemTypeError(str(name), problems)

        fields: dict[str, Mapping[str, Any]] = dict(data["fields"])
        chains: dict[str, Chain] = {}
        for fname, decl in fields.items():
            spec = decl.get("clean")
            for index, message in registry.check(spec):
                where = f"[{index}]" if isinstance(spec, list) else ""
                problems.append((f"fields.{fname}.clean{where}", message))
            problems.extend(_declaration_problems(f"fields.{fname}", decl))
            if spec is not None and not problems:
                chains[fname] = registry.compile(spec)

        default_key = ("url",) if "url" in fields else ("_url",)
        key = tuple(data.get("key") or default_key)
        for i, kname in enumerate(key):
            if kname not in fields and not kname.startswith("_"):
                message = f"{kname!r} is not a declared field{did_you_mean(kname, fields)}"
                problems.append((f"key[{i}]", message))

        near_duplicates = near_duplicates_of(str(name), data, fields, problems)
        # (a declaration the file's schema accepts is a valid JSON Schema of its value:
        # tests/crawler/rules/test_lean_schema.py checks it against the metaschema)
        schema = _item_schema(str(name), fields, key, data.get("description", ""))
        if problems:
            raise ItemTypeError(str(name), problems)

        return cls(
            name=str(name),
            key=key,
            history=bool(data.get("history", False)),
            fields=MappingProxyType(fields),
            chains=MappingProxyType(chains),
            schema=schema,
            description=data.get("description", ""),
            near_duplicates=near_duplicates,
        )

    @cached_property
    def lean(self) -> LeanValidator:
        """Says whether an item is valid without importing jsonschema."""
        return LeanValidator(self.schema, FORMAT_CHECKS)

    @cached_property
    def validator(self) -> Draft202012Validator:
        """jsonschema's validator: what is wrong with an item that is not valid."""
        from crawler.rules.jsonschema_lean import Draft202012Validator

        return Draft202012Validator(self.schema, format_checker=_format_checker())

    def check_mapping(self, mapping: Mapping[str, str] | None) -> list[str]:
        """Problems of a rule's mapping (type field -> extracted field); empty when it is fine.

        The crawler calls this once per rule; :meth:`apply` ignores keys that are not fields.
        """
        problems = []
        for tfield, source in (mapping or {}).items():
            if tfield not in self.fields:
                problems.append(
                    f"mapping: {tfield!r} is not a field of item type {self.name!r}"
                    f"{did_you_mean(str(tfield), self.fields)}"
                )
            if not isinstance(source, str):
                problems.append(
                    f"mapping.{tfield}: the source must be a field name, got {preview(source)}"
                )
        return problems

    def apply(
        self,
        item: Mapping[str, Any],
        mapping: Mapping[str, str] | None = None,
        ctx: CleanContext | None = None,
        cleaned_by: Mapping[str, Collection[str]] | None = None,
    ) -> Result:
        """Map, clean and validate one extracted item.

        ``mapping`` maps a type field to the extracted field it comes from (unmapped fields come
        from the field of the same name). Fields starting with ``_`` (``_url``, ``_rule``,
        ``_crawled_at``) are passed through untouched. A field whose cleaner fails is set to
        None, its raw value kept in ``Result.raw`` and the error recorded; the item is still
        validated. Without ``ctx``, one is made from the item's ``_url`` and ``_crawled_at``.
        ``cleaned_by``: per extracted field, the cleaners the rule ran on it, so that no error
        asks to add one of them (nor one of the type's own chain).
        """
        mapping = mapping or {}
        ctx = ctx if ctx is not None else context_of(item)
        out: dict[str, Any] = {k: v for k, v in item.items() if k.startswith("_")}
        errors: list[tuple[str, str]] = []
        raw: dict[str, Any] = {}
        used = set()
        for fname in self.fields:
            source = mapping.get(fname, fname)
            used.add(source)
            present = source in item
            value = item.get(source)
            chain = self.chains.get(fname)
            if chain is not None:
                try:
                    value = chain(value, ctx)
                except CleanError as exc:
                    errors.append((fname, f"{fname}: {exc}"))
                    raw[fname] = item.get(source)
                    out[fname] = None
                    continue
            if present or value is not None:  # a cleaner such as `default` may supply a value
                out[fname] = value
        for field_name, message in self._validation_errors(out, mapping, cleaned_by):
            if field_name not in raw:  # the cleaner's error already explains this field
                errors.append((field_name, message))
        order = {name: i for i, name in enumerate(self.fields)}
        errors.sort(key=lambda e: order.get(e[0], len(order)))  # stable: declaration order
        dropped = [k for k in item if not k.startswith("_") and k not in used]
        return Result(out, [message for _, message in errors], raw, dropped)

    def validate(self, item: Mapping[str, Any]) -> list[str]:
        """``field: message`` lines for a cleaned item (what :meth:`apply` reports)."""
        return [message for _, message in self._validation_errors(item, {})]

    def _validation_errors(
        self,
        item: Mapping[str, Any],
        mapping: Mapping[str, str],
        cleaned_by: Mapping[str, Collection[str]] | None = None,
    ) -> list[tuple[str, str]]:
        if self.lean.verdict(item) is True:
            return []
        order = {name: i for i, name in enumerate(self.fields)}
        found: dict[str, tuple[int, str]] = {}
        for error in self.validator.iter_errors(item):
            field_name = top(path_text(error.absolute_path))
            chains = {field_name: self._cleaners_of(field_name, mapping, cleaned_by)}
            for fname, message in describe(error, self.key, mapping, chains):
                line = f"{fname}: {message}"
                found.setdefault(line, (order.get(top(fname), len(order)), top(fname)))
        ranked = sorted(found.items(), key=lambda kv: kv[1][0])  # in declaration order
        return [(top, line) for line, (_, top) in ranked]

    def _cleaners_of(
        self,
        fname: str,
        mapping: Mapping[str, str],
        cleaned_by: Mapping[str, Collection[str]] | None,
    ) -> set[str]:
        """The cleaners a field's value went through: the rule's, then the type's."""
        own = self.chains.get(fname)
        names = set(own.names) if own is not None else set()
        return names | set((cleaned_by or {}).get(mapping.get(fname, fname), ()))


# -- building --------------------------------------------------------------------------------


def _shape_problems(data: Any) -> list[tuple[str, str]]:
    if not isinstance(data, Mapping):
        return [("", f"an item type is a mapping, got {preview(data)}")]
    if LeanValidator(item_type_schema()).verdict(data) is True:
        return []
    from crawler.rules.jsonschema_lean import Draft202012Validator

    validator = Draft202012Validator(item_type_schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = path_text(error.absolute_path)
        problems.append((path, _shape_message(error)))
    return problems


def _shape_message(error: ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = error.schema.get("properties", {})
        extra = [k for k in error.instance if k not in allowed]
        return (
            "; ".join(f"unknown key {k!r}{did_you_mean(str(k), allowed)}" for k in extra)
            or error.message
        )
    if error.validator == "enum":
        return (
            f"{preview(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"
        )
    if error.validator == "pattern" and error.validator_value == FIELD_NAME:
        return (
            f"field name {error.instance!r} is not valid: use letters, digits and _, starting "
            "with a letter (a leading _ is reserved for platform metadata)"
        )
    if error.validator == "pattern" and error.validator_value == NAME:
        return (
            f"{error.instance!r} is not a valid name: use lower-case letters, digits and _, "
            "starting with a letter"
        )
    return error.message


def _declaration_problems(path: str, decl: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for low, high in (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems")):
        if low in decl and high in decl and decl[low] > decl[high]:
            problems.append((path, f"{low} {decl[low]} is greater than {high} {decl[high]}"))
    for where, spec in ((path, decl), (f"{path}.items", decl.get("items") or {})):
        if "pattern" in spec:
            try:
                re.compile(spec["pattern"])
            except re.error as exc:
                problems.append((f"{where}.pattern", f"invalid regular expression: {exc}"))
    return problems


def _item_schema(
    name: str, fields: Mapping[str, Mapping[str, Any]], key: tuple[str, ...], description: str
) -> dict[str, Any]:
    properties = {}
    required = []
    for fname, decl in fields.items():
        prop = {k: copy.deepcopy(v) for k, v in decl.items() if k not in _OURS}
        if decl.get("required") or fname in key:
            required.append(fname)
            if prop.get("type") == "string" and "minLength" not in prop:
                prop["minLength"] = 1
        else:  # an optional field may be null: that is how a missing value is written down
            prop["type"] = [prop["type"], "null"] if "type" in prop else None
            if prop["type"] is None:
                del prop["type"]
            if "enum" in prop:
                prop["enum"] = [*prop["enum"], None]
        properties[fname] = prop
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name,
        "type": "object",
        "properties": properties,
        "required": required,
        "patternProperties": {"^_": {}},  # platform metadata: _url, _rule, _crawled_at
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if not parts.scheme or any(c.isspace() for c in value):
        return False
    return bool(parts.netloc) if parts.scheme in ("http", "https", "ftp") else True


def _is_uri_reference(value: object) -> bool:
    if not isinstance(value, str):
        return True
    urlsplit(value)  # raises ValueError on a malformed one (e.g. a bad IPv6 host)
    return not any(c.isspace() for c in value)


def _is_date_time(value: object) -> bool:
    """ISO 8601 with or without an offset, as the ``date`` cleaner writes it."""
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return len(value) > 10 and value[10] in "Tt "


def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat("2000-01-01T" + value.replace("Z", "+00:00"))
    return True


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)

# The formats an item type may name (FORMATS), checked as jsonschema's FormatChecker checks the
# standard ones (date, email, ipv4, ipv6, uuid) and as the platform means the others. A check
# answers False or raises ValueError for a value that does not have its format.
FORMAT_CHECKS: dict[str, Callable[[object], bool]] = {
    "uri": _is_uri,
    "uri-reference": _is_uri_reference,
    "date-time": _is_date_time,
    "time": _is_time,
    "date": lambda v: not isinstance(v, str) or bool(_DATE.fullmatch(v) and date.fromisoformat(v)),
    "email": lambda v: not isinstance(v, str) or "@" in v,
    "ipv4": lambda v: not isinstance(v, str) or bool(ipaddress.IPv4Address(v)),
    "ipv6": lambda v: not isinstance(v, str) or not ipaddress.IPv6Address(v).scope_id,
    "uuid": lambda v: (
        not isinstance(v, str) or (bool(UUID(v)) and all(v[i] == "-" for i in (8, 13, 18, 23)))
    ),
}
PLATFORM_FORMATS = ("uri", "uri-reference", "date-time", "time")  # jsonschema's are not ours


def _format_checker() -> FormatChecker:
    """jsonschema's format checks, with the platform's for URIs and ISO 8601 times."""
    from crawler.rules.jsonschema_lean import FormatChecker

    checker = FormatChecker()
    for name in PLATFORM_FORMATS:
        checker.checks(name, raises=ValueError)(FORMAT_CHECKS[name])
    return checker
