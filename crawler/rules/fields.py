"""Selectors, fields and links: their JSON Schema fragments and their typed builders.

Shared by the sections that extract (page types, rows): a selector is one of xpath, css, json
or regex; a field is a selector (or a constant value, or a plugin extractor) with what to take
and how to clean it; a link is a selector for URLs and the page type they lead to.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.expressions import EXPRESSION_CHECKS, regex_problem, xpath_problem
from crawler.rules.model import FILE_TYPES, MISSING, FieldSpec, FileSpec, LinkSpec, Selector
from crawler.rules.problems import did_you_mean
from crawler.rules.sizes import SIZE_PATTERN, parse_size
from crawler.rules.yamlpos import Path

SELECTOR_KEYS = ("xpath", "css", "json", "regex")

SELECTOR_PROPERTIES: dict[str, Any] = {
    "xpath": {
        "type": "string",
        "description": "XPath 1.0 expression (EXSLT re: and set: available).",
    },
    "css": {
        "type": "string",
        "description": "CSS selector; ::text and ::attr(name) pseudo-elements work.",
    },
    "json": {
        "type": "string",
        "description": "JMESPath expression over a JSON response (or JSON row).",
    },
    "regex": {
        "type": "string",
        "description": "Regular expression: over the page (or row) text alone, or applied to the "
        "values another selector found. The first group is taken when there is one.",
    },
}

REGEX_LIST = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    "description": "A regular expression or a list of them, matched with search() against the absolute URL.",
}

CLEAN = {
    "description": "A cleaner chain: a name, or a list of names and {name: arguments} mappings.",
    "oneOf": [
        {"type": "string"},
        {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "object", "minProperties": 1, "maxProperties": 1},
                ]
            },
        },
    ],
}

MAX_FILES = 1000  # the schema's bound on max_files; the project's FILES_PER_ITEM caps it lower

FILES = {
    "description": "The values are links to files (PDF, office documents, images): each is "
    "downloaded through the crawl, its type sniffed from its content, stored once by content "
    "hash in the project's file store, and the field becomes a list of file records "
    "({url, name, type, size, sha256, path, text}; a refused or failed file: {url, name, "
    "error}). `true` for the defaults (docs/files.md).",
    "type": ["boolean", "object"],
    "properties": {
        "types": {
            "description": "The file types kept, as sniffed from their content (default: every "
            "type but zip); a file of another type is refused.",
            "type": "array",
            "items": {"enum": list(FILE_TYPES)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "max_size": {
            "description": "The biggest file downloaded: bytes, or a size such as 20MB; a bigger "
            "one is cut off by the downloader and refused (default and cap: the project's "
            "FILES_MAX_BYTES and FILES_LIMIT_BYTES).",
            "type": ["string", "integer"],
            "pattern": SIZE_PATTERN,
            "minimum": 1,
        },
        "text": {
            "type": "boolean",
            "default": False,
            "description": "Read the text of PDF, DOCX and XLSX files into the record's "
            "`text` (bounded by the project's FILES_TEXT_MAX_CHARS).",
        },
        "max_files": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_FILES,
            "description": "The most files of this field per item; the rest are refused "
            "(too_many).",
        },
    },
    "additionalProperties": False,
}

DEFS: dict[str, Any] = {
    "selector": {
        "type": "object",
        "description": "Where to find something: one of xpath, css, json or regex (regex may also follow another).",
        "properties": dict(SELECTOR_PROPERTIES),
        "additionalProperties": False,
    },
    "field": {
        "type": "object",
        "description": "One field: a selector, what to take from it, and how to clean it.",
        "properties": {
            **SELECTOR_PROPERTIES,
            "value": {"description": "A constant value instead of a selector."},
            "extractor": {
                "type": "string",
                "description": "A Python extractor registered by a module in PLUGIN_MODULES, instead of a selector.",
            },
            "args": {"type": "object", "description": "Keyword arguments for the extractor."},
            "all": {
                "type": "boolean",
                "default": False,
                "description": "Take every value as a list, not only the first.",
            },
            "text": {
                "type": "boolean",
                "default": False,
                "description": "For elements: take their whole text content instead of their HTML.",
            },
            "default": {
                "description": "Used when nothing was found (or the cleaners left nothing)."
            },
            "required": {
                "type": "boolean",
                "default": False,
                "description": "An item whose required field is empty is kept aside as invalid (dead-letter).",
            },
            "clean": CLEAN,
            "files": FILES,
        },
        "additionalProperties": False,
    },
    "fields": {
        "type": "object",
        "description": "Fields by name.",
        "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
        "additionalProperties": {"$ref": "#/$defs/field"},
    },
    "link": {
        "type": "object",
        "description": "Links to follow: a selector for URLs (an <a> or <link> element gives its href), and the page type they lead to.",
        "properties": {
            **SELECTOR_PROPERTIES,
            "to": {"type": "string", "description": "The page type of the linked pages."},
            "allow": REGEX_LIST,
            "deny": REGEX_LIST,
            "max_depth": {
                "type": "integer",
                "minimum": 0,
                "description": "Follow only from pages at most this deep.",
            },
            "priority": {
                "type": "integer",
                "description": "Request priority (higher first); defaults to the page type's.",
            },
            "carry": {
                "description": "Fields of this page (or row) passed on to the linked page's items: true for all, or a list of names.",
                "oneOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}],
            },
        },
        "required": ["to"],
        "additionalProperties": False,
    },
}


def as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def build_selector(
    ctx: BuildContext,
    spec: dict,
    path: Path,
    *,
    allow_regex_alone: bool = True,
    nodes: bool = False,
) -> Selector:
    """A typed selector, its expressions checked; ``nodes``: it must select elements or values
    (rows, links, pagination), not compute a number. Like every builder here, it checks the
    parts the schema accepted and leaves the others to the schema's own message."""
    if not isinstance(spec, dict):
        return Selector()
    primary = [k for k in ("xpath", "css", "json") if k in spec]
    if len(primary) > 1:
        ctx.error(path, f"use one of xpath, css or json, not {' and '.join(primary)}")
    if not primary and "regex" not in spec:
        ctx.error(path, "needs a selector: one of xpath, css, json or regex")
    if not primary and "regex" in spec and not allow_regex_alone:
        ctx.error(path, "a regex alone cannot select elements: use xpath or css")
    selector = Selector(**{k: spec[k] for k in SELECTOR_KEYS if k in spec})
    for kind, problem in EXPRESSION_CHECKS.items():
        expression = getattr(selector, kind)
        if expression is None or ctx.broken(tuple(path) + (kind,)):
            continue
        message = xpath_problem(expression, nodes=nodes) if kind == "xpath" else problem(expression)
        if message:
            ctx.error(path + (kind,), message)
    return selector


def build_fields(
    ctx: BuildContext, spec: Any, path: Path, generic: tuple[str, ...] = ()
) -> tuple[FieldSpec, ...]:
    """The fields of ``spec``; ``generic``: the names generic extraction gives (a field of
    one of them written with no source takes the generic value)."""
    if not isinstance(spec, dict):
        return ()
    return tuple(
        build_field(ctx, name, fspec, path + (name,), generic)
        for name, fspec in spec.items()
        if isinstance(fspec, dict)
    )


def build_field(
    ctx: BuildContext, name: str, spec: dict, path: Path, generic: tuple[str, ...] = ()
) -> FieldSpec:
    sources = [k for k in ("value", "extractor") if k in spec]
    if any(k in spec for k in SELECTOR_KEYS):
        sources.append("a selector")
    if not sources and generic:
        if name not in generic:
            ctx.error(
                path,
                f"needs a selector, a value or an extractor: generic extraction gives only "
                f"{', '.join(generic)}",
            )
        clean = ctx.part(spec, "clean", path)
        _check_cleaners(ctx, clean, path)
        return FieldSpec(
            name=name,
            selector=Selector(),
            default=spec.get("default"),
            required=spec.get("required", False),
            all=spec.get("all", False),
            clean=clean,
            generic=True,
            files=build_files(ctx, spec, path),
        )
    if len(sources) > 1:
        ctx.error(
            path,
            f"a field takes one of a selector, value or extractor, not {' and '.join(sources)}",
        )
    if "args" in spec and "extractor" not in spec:
        ctx.error(path + ("args",), "args are for an extractor")
    selector = Selector()
    args = ctx.part(spec, "args", path, {})
    if "extractor" in spec:
        extractor = ctx.part(spec, "extractor", path)
        if extractor is not None and not ctx.broken(path + ("args",)):
            for message in ctx.env.extractors(extractor, spec.get("args")):
                ctx.error(path + ("extractor",), message)
    elif "value" not in spec:
        selector = build_selector(ctx, spec, path)
    clean = ctx.part(spec, "clean", path)
    _check_cleaners(ctx, clean, path)
    files = build_files(ctx, spec, path)
    return FieldSpec(
        name=name,
        selector=selector,
        value=spec.get("value", MISSING),
        extractor=spec.get("extractor"),
        args=MappingProxyType(dict(args)),
        all=spec.get("all", False),
        text=spec.get("text", False),
        default=spec.get("default"),
        required=spec.get("required", False),
        clean=clean,
        files=files,
    )


def build_files(ctx: BuildContext, spec: dict, path: Path) -> FileSpec | None:
    """A field's ``files:``: None when it has none (or ``false``)."""
    value = ctx.part(spec, "files", path)
    if value is None or value is False or not (value is True or isinstance(value, dict)):
        return None
    if "value" in spec:
        ctx.error(path + ("files",), "files are links a selector finds, not a constant value")
    if value is True:
        return FileSpec()
    path = path + ("files",)
    max_bytes = None
    size = ctx.part(value, "max_size", path)
    if size is not None:
        try:
            max_bytes = parse_size(size)
        except ValueError as exc:
            ctx.error(path + ("max_size",), str(exc))
        else:
            if max_bytes < 1:
                ctx.error(path + ("max_size",), "must be at least 1 byte")
    types = ctx.part(value, "types", path)
    return FileSpec(
        types=tuple(types) if types else FileSpec.types,
        max_bytes=max_bytes,
        text=bool(ctx.part(value, "text", path, False)),
        max_files=ctx.part(value, "max_files", path),
    )


def _check_cleaners(ctx: BuildContext, clean: Any, path: Path) -> None:
    if clean is not None:
        for index, message in ctx.env.cleaners(clean):
            sub = path + ("clean",) + ((index,) if isinstance(clean, list) else ())
            ctx.error(sub, message)


def build_links(
    ctx: BuildContext, specs: Any, path: Path, scope_fields: set[str]
) -> tuple[LinkSpec, ...]:
    if not isinstance(specs, list):
        return ()
    return tuple(
        build_link(ctx, spec, path + (i,), scope_fields)
        for i, spec in enumerate(specs)
        if isinstance(spec, dict)
    )


def build_link(ctx: BuildContext, spec: dict, path: Path, scope_fields: set[str]) -> LinkSpec:
    selector = build_selector(ctx, spec, path, nodes=True)
    ctx.check_page_ref(spec.get("to"), path + ("to",))
    allow, deny = as_tuple(ctx.part(spec, "allow", path)), as_tuple(ctx.part(spec, "deny", path))
    for key, patterns in (("allow", allow), ("deny", deny)):
        for i, pattern in enumerate(patterns):
            message = regex_problem(pattern)
            if message:
                sub = path + (key,) + ((i,) if isinstance(spec.get(key), list) else ())
                ctx.error(sub, message)
    carry = ctx.part(spec, "carry", path, False)
    if isinstance(carry, list):
        for i, name in enumerate(carry):
            if name not in scope_fields:
                hint = did_you_mean(name, scope_fields)
                ctx.error(path + ("carry", i), f"carries {name!r}, which is not a field here{hint}")
        carry = tuple(carry)
    return LinkSpec(
        selector=selector,
        to=spec.get("to", ""),
        allow=allow,
        deny=deny,
        max_depth=spec.get("max_depth"),
        priority=spec.get("priority"),
        carry=carry,
    )
