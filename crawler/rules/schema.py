"""The JSON Schema of site rule files.

This module is the source of ``rules/rule.schema.json`` (regenerate with ``make schema``; a test
checks that the shipped file is current). The schema covers shape and types; what a schema cannot
say (an XPath that does not compile, a link to a page type that does not exist, an unknown cleaner)
is checked by :mod:`crawler.rules.load`.
"""

from __future__ import annotations

import json
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://crawler-platform.local/schemas/rule.schema.json"

SELECTOR_KEYS = ("xpath", "css", "json", "regex")

_selector_props: dict[str, Any] = {
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

_regex_list = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    "description": "A regular expression or a list of them, matched with search() against the absolute URL.",
}

_clean = {
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

_selector = {
    "type": "object",
    "description": "Where to find something: one of xpath, css, json or regex (regex may also follow another).",
    "properties": dict(_selector_props),
    "additionalProperties": False,
}

_field = {
    "type": "object",
    "description": "One field: a selector, what to take from it, and how to clean it.",
    "properties": {
        **_selector_props,
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
        "default": {"description": "Used when nothing was found (or the cleaners left nothing)."},
        "required": {
            "type": "boolean",
            "default": False,
            "description": "An item whose required field is empty is kept aside as invalid (dead-letter).",
        },
        "clean": _clean,
    },
    "additionalProperties": False,
}

_fields = {
    "type": "object",
    "description": "Fields by name.",
    "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
    "additionalProperties": {"$ref": "#/$defs/field"},
}

_link = {
    "type": "object",
    "description": "Links to follow: a selector for URLs (an <a> or <link> element gives its href), and the page type they lead to.",
    "properties": {
        **_selector_props,
        "to": {"type": "string", "description": "The page type of the linked pages."},
        "allow": _regex_list,
        "deny": _regex_list,
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
}

_pagination = {
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

_item = {
    "type": "object",
    "description": "Where items go: collection, key and item type.",
    "properties": {
        "collection": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"},
        "key": {
            "description": "Field(s) that identify an item for upserts (default: url, else the page URL).",
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ],
        },
        "type": {"type": "string", "description": "An item type from rules/types/."},
        "map": {
            "type": "object",
            "description": "Item-type field -> extracted field, where the names differ.",
            "additionalProperties": {"type": "string"},
        },
    },
    "additionalProperties": False,
}

_rows = {
    "type": "object",
    "description": "Split the page into rows; fields and links below are relative to each row.",
    "properties": {
        **_selector_props,
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

_scalar = {"type": ["string", "number", "boolean", "null"]}
_scalar_value = {"type": ["string", "number", "boolean"]}

_page = {
    "type": "object",
    "description": "A page type: what a page of this kind yields and where it leads.",
    "properties": {
        "match": {
            "type": "string",
            "description": "A URL regex telling this page type apart (used by preview).",
        },
        "fields": {"$ref": "#/$defs/fields"},
        "rows": _rows,
        "links": {"type": "array", "items": {"$ref": "#/$defs/link"}},
        "pagination": _pagination,
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

_duration = {
    "type": "string",
    "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*(s|m|h|d|w)\s*$",
    "description": "A duration: a number and a unit, s m h d or w (30s, 15m, 12h, 7d, 2w).",
}

_schedule = {
    "type": "object",
    "description": "Run this rule on a schedule (`scrapy schedule`).",
    "properties": {
        "cron": {
            "type": "string",
            "description": "When to run: a five-field cron expression (minute hour day month weekday), "
            "or @hourly, @daily, @weekly, @monthly.",
        },
        "timezone": {
            "type": "string",
            "default": "UTC",
            "description": "IANA time zone the cron expression is read in (Europe/Paris).",
        },
        "catch_up": {
            "type": "boolean",
            "default": False,
            "description": "Runs missed while the scheduler was down: true runs one at once, "
            "false skips to the next due time.",
        },
        "retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
            "default": 0,
            "description": "Run again this many times when a run fails.",
        },
        "retry_delay": {
            "$ref": "#/$defs/duration",
            "description": "Wait before a retry (default 1m).",
        },
        "timeout": {
            "$ref": "#/$defs/duration",
            "description": "Stop a run that takes longer than this (default: no limit).",
        },
        "args": {
            "type": "object",
            "description": "Rule arguments of the scheduled runs (as -a name=value).",
            "additionalProperties": _scalar_value,
        },
        "enabled": {"type": "boolean", "default": True},
    },
    "required": ["cron"],
    "additionalProperties": False,
}


_start = {
    "type": "object",
    "description": "A start request: a URL (templated with {arg} and {1..N} ranges) and the page type it lands on.",
    "properties": {
        "url": {"type": "string"},
        "urls": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "page": {"type": "string"},
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "GET"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "form": {
            "type": "object",
            "additionalProperties": _scalar,
            "description": "Form body (POST).",
        },
        "json": {"description": "JSON body."},
        "body": {"type": "string", "description": "Raw body."},
        "carry": {
            "type": "object",
            "description": "Values every item reached from here starts with.",
        },
        "priority": {"type": "integer"},
    },
    "required": ["page"],
    "additionalProperties": False,
}


def build_schema(extra_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule schema; ``extra_properties`` are top-level sections other packages own."""
    props: dict[str, Any] = {
        "$schema": {"type": "string"},
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$",
            "description": "Spider name (default: the file name without .yaml).",
        },
        "description": {"type": "string"},
        "needs_internet": {
            "type": "boolean",
            "default": False,
            "description": "The rule crawls a public site: skipped by offline tests.",
        },
        "args": {
            "type": "object",
            "description": "Arguments (-a name=value) with their defaults; null means required.",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": _scalar,
        },
        "allowed_domains": {"type": "array", "items": {"type": "string"}},
        "encoding": {
            "type": "string",
            "description": "Force this response encoding (else detected).",
        },
        "start": {"type": "array", "items": {"$ref": "#/$defs/start"}, "minItems": 1},
        "pages": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
            "additionalProperties": {"$ref": "#/$defs/page"},
        },
        "item": {"$ref": "#/$defs/item"},
        "settings": {
            "type": "object",
            "description": "Scrapy settings for this rule's spider (DOWNLOAD_DELAY, CONCURRENT_REQUESTS, ...).",
            "propertyNames": {"pattern": "^[A-Z][A-Z0-9_]*$"},
        },
        "schedule": {"$ref": "#/$defs/schedule"},
    }
    props.update(extra_properties or {})
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "Crawler platform site rule",
        "type": "object",
        "properties": props,
        "required": ["start", "pages"],
        "additionalProperties": False,
        "$defs": {
            "selector": _selector,
            "field": _field,
            "fields": _fields,
            "link": _link,
            "item": _item,
            "page": _page,
            "start": _start,
            "duration": _duration,
            "schedule": _schedule,
        },
    }


def rule_schema() -> dict[str, Any]:
    """The full schema, with the sections other packages own plugged in."""
    from crawler.antiban.rule import ANTIBAN_SCHEMA

    return build_schema({"antiban": ANTIBAN_SCHEMA})


def schema_json() -> str:
    return json.dumps(rule_schema(), indent=2, ensure_ascii=False) + "\n"
