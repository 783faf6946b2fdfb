"""``pages:``: page types, each with its fields, rows, links, pagination and item target."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.expressions import regex_problem
from crawler.rules.fields import (
    DEFS as FIELD_DEFS,
)
from crawler.rules.fields import (
    SELECTOR_PROPERTIES,
    build_fields,
    build_links,
    build_selector,
)
from crawler.rules.generic import GENERIC_FIELDS
from crawler.rules.model import PageType, Pagination, RowsSpec, Rule, Selector
from crawler.rules.sections import Section
from crawler.rules.sections.item import build_target
from crawler.rules.yamlpos import Path

PAGINATION = {
    "type": "object",
    "description": "How to reach the next pages of this page type. Exactly one style: next, pages, offset or cursor.",
    "properties": {
        "next": {"$ref": "#/$defs/selector", "description": "A next-page link."},
        "pages": {
            "type": "object",
            "description": "Page URLs generated from a template, from page `start` up to a count read from the first page.",
            "properties": {
                "template": {
                    "type": "string",
                    "description": "URL template with {page} (and {url}, rule arguments).",
                },
                "count": {
                    "description": "The number of pages: a selector on the first page, or a number.",
                    "oneOf": [{"type": "integer", "minimum": 1}, {"$ref": "#/$defs/selector"}],
                },
                "start": {"type": "integer", "default": 2},
            },
            "required": ["template", "count"],
            "additionalProperties": False,
        },
        "offset": {
            "type": "object",
            "description": "An offset (or page number) query parameter stepped until a page comes back empty.",
            "properties": {
                "param": {"type": "string"},
                "step": {"type": "integer", "minimum": 1, "default": 1},
                "start": {"type": "integer", "default": 0},
            },
            "required": ["param"],
            "additionalProperties": False,
        },
        "cursor": {
            "type": "object",
            "description": "A cursor query parameter whose next value is read from each page; stops when it is empty.",
            "properties": {"param": {"type": "string"}, "value": {"$ref": "#/$defs/selector"}},
            "required": ["param", "value"],
            "additionalProperties": False,
        },
        "until_empty": {
            "$ref": "#/$defs/selector",
            "description": "For offset paging: stop when this finds nothing (default: the page's rows).",
        },
        "max_pages": {
            "type": "integer",
            "minimum": 1,
            "description": "Never follow more pages than this.",
        },
    },
    "additionalProperties": False,
}

ROWS = {
    "type": "object",
    "description": "Split the page into rows; fields and links below are relative to each row.",
    "properties": {
        **SELECTOR_PROPERTIES,
        "fields": {"$ref": "#/$defs/fields"},
        "links": {"type": "array", "items": {"$ref": "#/$defs/link"}},
        "emit": {
            "type": "boolean",
            "default": True,
            "description": "Each row is an item; false when rows only carry values to their links.",
        },
    },
    "additionalProperties": False,
}

PAGE = {
    "type": "object",
    "description": "A page type: what a page of this kind yields and where it leads.",
    "properties": {
        "match": {
            "type": "string",
            "description": "A URL regex telling this page type apart (used by preview, parse and seed).",
        },
        "extract": {
            "enum": ["article", "product", "list"],
            "description": "Generic extraction: the page's article (title, published, updated, "
            "author, body, body_html, image, tags, attachments, language) or product (name, "
            "description, price, currency, availability, sku, brand, images), found without "
            "selectors. Fields written here win; a field with only clean: cleans the generic value. "
            "`list`: the page's repeated links lead to the page type `to`, its next page is "
            "followed, both found without selectors.",
        },
        "to": {
            "type": "string",
            "description": "With `extract: list`: the page type its links lead to.",
        },
        "fields": {"$ref": "#/$defs/fields"},
        "rows": ROWS,
        "links": {"type": "array", "items": {"$ref": "#/$defs/link"}},
        "pagination": PAGINATION,
        "item": {"$ref": "#/$defs/item"},
        "emit": {
            "type": "boolean",
            "default": True,
            "description": "Page-level fields make an item (false: they are only carried to links).",
        },
        "priority": {
            "type": "integer",
            "description": "Request priority for pages of this type (higher first).",
        },
        "fetch": {
            "enum": ["every", "once"],
            "default": "every",
            "description": "Incremental crawls: `every` run re-fetches pages of this type (lists); "
            "`once` fetches each URL once across runs (details), until `refresh_after`.",
        },
        "refresh_after": {
            "$ref": "#/$defs/duration",
            "description": "For `fetch: once` pages: fetch a page again when its last fetch is this old.",
        },
    },
    "additionalProperties": False,
}

DURATION = {
    "type": "string",
    "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*(s|m|h|d|w)\s*$",
    "description": "A duration: a number and a unit, s m h d or w (30s, 15m, 12h, 7d, 2w).",
}


def build(ctx: BuildContext) -> MappingProxyType:
    pages = ctx.data.get("pages")
    if not isinstance(pages, dict):
        return MappingProxyType({})
    return MappingProxyType(
        {
            name: build_page(ctx, name, spec, ("pages", name))
            for name, spec in pages.items()
            if isinstance(spec, dict)  # else the schema said what it should be
        }
    )


def build_page(ctx: BuildContext, name: str, spec: dict, path: Path) -> PageType:
    """A page type, built part by part: a part the schema found broken is left out (the schema
    said what is wrong with it), so every other part is still checked."""
    extract = ctx.part(spec, "extract", path)
    generic = GENERIC_FIELDS.get(extract, ()) if isinstance(extract, str) else ()
    fields = build_fields(ctx, spec.get("fields"), path + ("fields",), generic)
    page_field_names = {f.name for f in fields} | set(generic)
    to = ctx.part(spec, "to", path)
    if extract == "list" and to is None:
        ctx.error(path + ("extract",), "extract: list needs `to:` the page type its links lead to")
    if to is not None and extract != "list":
        ctx.error(path + ("to",), "`to:` is for a page type with `extract: list`")
    if to is not None and to not in (ctx.data.get("pages") or {}):
        known = ", ".join(ctx.data.get("pages") or {})
        ctx.error(path + ("to",), f"no page type {to!r} (page types: {known})")
    if extract is not None and isinstance(spec.get("rows"), dict):
        ctx.error(
            path + ("extract",),
            f"extract: {extract} makes one item of the page; rows make one per row: use one",
        )
    rows = None
    if isinstance(spec.get("rows"), dict):
        rspec, rpath = spec["rows"], path + ("rows",)
        rsel = build_selector(ctx, rspec, rpath, allow_regex_alone=False, nodes=True)
        rfields = build_fields(ctx, rspec.get("fields"), rpath + ("fields",))
        scope = page_field_names | {f.name for f in rfields}
        rlinks = build_links(ctx, rspec.get("links"), rpath + ("links",), scope)
        rows = RowsSpec(rsel, rfields, rlinks, rspec.get("emit", True))
    links = build_links(ctx, spec.get("links"), path + ("links",), page_field_names)
    pagination = None
    if isinstance(spec.get("pagination"), dict):
        pagination = build_pagination(ctx, spec["pagination"], path + ("pagination",), rows)
    item = None
    if isinstance(spec.get("item"), dict):
        item = build_target(ctx, spec["item"], path + ("item",))
    match = ctx.part(spec, "match", path)
    if match is not None:
        message = regex_problem(match)
        if message:
            ctx.error(path + ("match",), message)
    page = PageType(
        name=name,
        fields=fields,
        rows=rows,
        links=links,
        pagination=pagination,
        item=item,
        emit=spec.get("emit", True),
        priority=spec.get("priority", 0),
        match=match,
        fetch=spec.get("fetch", "every"),
        refresh_after=ctx.duration(spec, "refresh_after", path),
        extras=MappingProxyType({k: v for k, v in spec.items() if k not in PAGE["properties"]}),
        extract=extract if isinstance(extract, str) else None,
        list_to=to if isinstance(to, str) else None,
    )
    if page.refresh_after is not None and page.fetch != "once":
        ctx.error(
            path + ("refresh_after",),
            "refresh_after applies to pages fetched once: add `fetch: once`",
        )
    return page


def build_pagination(
    ctx: BuildContext, spec: dict, path: Path, rows: RowsSpec | None
) -> Pagination:
    styles = [s for s in ("next", "pages", "offset", "cursor") if s in spec]
    if len(styles) != 1:
        found = " and ".join(styles) if styles else "none"
        ctx.error(path, f"needs exactly one style of next, pages, offset or cursor (found {found})")
        return Pagination(style="none")
    style = styles[0]
    until_empty = None
    if "until_empty" in spec:
        until_empty = build_selector(ctx, spec["until_empty"], path + ("until_empty",))
    common: dict[str, Any] = {"max_pages": spec.get("max_pages"), "until_empty": until_empty}
    if style == "next":
        return Pagination(
            "next", next=build_selector(ctx, spec["next"], path + ("next",)), **common
        )
    p = spec[style] if isinstance(spec[style], dict) else {}
    if style == "pages":
        count = ctx.part(p, "count", path + ("pages",))
        if isinstance(count, dict):
            count = build_selector(ctx, count, path + ("pages", "count"))
        template = ctx.part(p, "template", path + ("pages",), "")
        ctx.check_template(template, path + ("pages", "template"), extra=frozenset({"page", "url"}))
        return Pagination(
            "pages", template=template, count=count, start=p.get("start", 2), **common
        )
    if style == "offset":
        if until_empty is None and rows is None:
            ctx.error(
                path + ("offset",),
                "offset paging stops on an empty page: give until_empty, or rows on this page type",
            )
        return Pagination(
            "offset", param=p.get("param"), step=p.get("step", 1), start=p.get("start", 0), **common
        )
    cursor = build_selector(ctx, p.get("value", {}), path + ("cursor", "value"))
    return Pagination("cursor", param=p.get("param"), cursor=cursor, **common)


def available_fields(rule: Rule) -> dict[str, set[str]]:
    """Per page type, the fields its items can hold: its own (and its rows'), those links carry
    to it, and those its start requests carry."""
    available = {
        name: {f.name for f in page.fields}
        | ({f.name for f in page.rows.fields} if page.rows else set())
        | set(GENERIC_FIELDS.get(page.extract or "", ()))
        for name, page in rule.pages.items()
    }
    for page in rule.pages.values():
        own = {f.name for f in page.fields}
        row = {f.name for f in page.rows.fields} if page.rows else set()
        links = [(link, own) for link in page.links]
        links += [(link, own | row) for link in (page.rows.links if page.rows else ())]
        for link, scope in links:
            if link.to in available and link.carry:
                available[link.to] |= scope if link.carry is True else set(link.carry)
    for start in rule.start:
        if start.page in available:
            available[start.page] |= set(start.carry)
    return available


def finish(rule: Rule, ctx: BuildContext) -> None:
    """Items need a key the rule extracts; rows make several items per page, so they need one
    that tells them apart."""
    available = available_fields(rule)
    for name, page in rule.pages.items():
        if page.emits_items:
            check_key(rule, ctx, name, available[name])
    for name, page in rule.pages.items():
        target = rule.item.merged(page.item)
        if page.rows is not None and page.emits_items and not target.key:
            names = {f.name for f in page.rows.fields} | {f.name for f in page.fields}
            if "url" not in names:
                ctx.error(
                    ("pages", name, "rows"),
                    "rows make several items per page, so they need a key: set item.key, "
                    "or extract a 'url' field",
                )


def check_key(rule: Rule, ctx: BuildContext, name: str, fields: set[str]) -> None:
    target = rule.target(name)
    item_type = ctx.item_types.get(target.type) if target.type else None
    key = target.key or (item_type.key if item_type is not None else None)
    if not key:
        return  # the default key: `url` when extracted, else the page URL
    for field in key:
        source = target.map.get(field, field)
        if source.startswith("_") or source == "url" or source in fields:
            continue  # metadata (_url: the page URL), "url" (the URL), or extracted
        if rule.pages[name].item and rule.pages[name].item.key:
            path: Path = ("pages", name, "item", "key")
        elif target.key:
            path = ("item", "key")
        else:
            path = (("pages", name) if rule.pages[name].item else ()) + ("item", "type")
        shown = ", ".join(sorted(fields)) or "none"
        ctx.error(
            path,
            f"key {field!r} is not extracted on page type {name!r} (its fields: {shown}): "
            f"add a {source!r} field, carry it there, or change the key",
        )


PROPERTIES: dict[str, Any] = {
    "pages": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
        "additionalProperties": {"$ref": "#/$defs/page"},
    },
}

SECTION = Section(
    name="pages",
    order=10,
    properties=PROPERTIES,
    defs={**FIELD_DEFS, "page": PAGE, "duration": DURATION},
    build=build,
    finish=finish,
    required=("pages",),
)

__all__ = ["PAGE", "SECTION", "Selector", "build_page"]
