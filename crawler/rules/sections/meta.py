"""The rule's identity and inputs: ``name``, ``description``, ``needs_internet``, ``args``,
``allowed_domains``, ``encoding`` (which maps to the ``RESPONSE_ENCODING`` setting), ``tags``
and ``extends`` (the template merged in before anything is checked: crawler/rules/inherit.py).

An argument is declared with its default (null: required), or as ``{default, secret,
description}``. A secret argument's value (an API key) never reaches logs, stats, run records,
items or fixtures; arguments whose name contains ``key``, ``token``, ``secret`` or ``password``
are secret unless declared ``secret: false``.
"""

from __future__ import annotations

import codecs
import re
from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.model import RuleMeta
from crawler.rules.sections import Section

SCALAR = {"type": ["string", "number", "boolean", "null"]}
SECRET_NAME = re.compile(r"key|token|secret|password", re.IGNORECASE)
TAG = r"^[^\s,:]{1,40}$"  # a word: no spaces, commas or colons (filters join tags with them)

PROPERTIES: dict[str, Any] = {
    "$schema": {"type": "string"},
    "name": {
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$",
        "description": "Spider name (default: the file name without .yaml).",
    },
    "description": {"type": "string"},
    "extends": {
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$",
        "description": "A template (rules/templates/NAME.yaml) or another rule to start from: "
        "mappings merge, other values replace, null removes.",
    },
    "tags": {
        "type": "array",
        "items": {"type": "string", "pattern": TAG},
        "uniqueItems": True,
        "maxItems": 32,
        "description": "Groups of rules: scrapy crawl --tag NAME, the dashboard's filters.",
    },
    "needs_internet": {
        "type": "boolean",
        "default": False,
        "description": "The rule crawls a public site: skipped by offline tests.",
    },
    "args": {
        "type": "object",
        "description": "Arguments (-a name=value) with their defaults; null means required. "
        "Or {default, secret, description}: a secret value never reaches logs, items or fixtures.",
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": {
            "oneOf": [
                SCALAR,
                {
                    "type": "object",
                    "properties": {
                        "default": SCALAR,
                        "secret": {"type": "boolean"},
                        "description": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
    },
    "allowed_domains": {"type": "array", "items": {"type": "string"}},
    "encoding": {
        "type": "string",
        "description": "Force this response encoding (else detected).",
    },
}


def build(ctx: BuildContext) -> RuleMeta:
    d = ctx.data
    encoding = d.get("encoding") if not ctx.broken(("encoding",)) else None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            ctx.error(("encoding",), f"unknown encoding {encoding!r}")
    args = d.get("args") if not ctx.broken(("args",)) else None
    defaults, secret = {}, set()
    for name, spec in (args or {}).items():
        declared = spec if isinstance(spec, dict) else {"default": spec}
        defaults[name] = declared.get("default")
        if declared.get("secret", SECRET_NAME.search(name) is not None):
            secret.add(name)
    domains = d.get("allowed_domains") if not ctx.broken(("allowed_domains",)) else None
    return RuleMeta(
        description=d.get("description", "") if isinstance(d.get("description"), str) else "",
        needs_internet=d.get("needs_internet") is True,
        args=MappingProxyType(defaults),
        secret_args=frozenset(secret),
        allowed_domains=tuple(domains or ()),
        encoding=encoding,
        tags=tuple(d.get("tags") or ()) if not ctx.broken(("tags",)) else (),
        extends=d.get("extends") if isinstance(d.get("extends"), str) else None,
    )


def settings(meta: RuleMeta) -> dict[str, Any]:
    return {"RESPONSE_ENCODING": meta.encoding} if meta.encoding else {}


SECTION = Section(name="meta", order=0, properties=PROPERTIES, build=build, settings=settings)
