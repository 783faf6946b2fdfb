"""``push:``: deliver this rule's new and changed items to business systems while the crawl
stores them (crawler/push). The sinks' addresses and secrets are the project's (environment
variables named by ``PUSH_*`` settings); a rule only says which sinks, and the batch size.

    push:
      sinks: [webhook, redis]   # and/or mysql
      batch_size: 100
      skip_duplicates: true     # or [webhook]: near-duplicates of earlier items not delivered
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.sections import Section

SINKS = ("webhook", "redis", "mysql")

PUSH = {
    "type": "object",
    "description": "Deliver new and changed items to business systems as they are stored.",
    "properties": {
        "sinks": {
            "type": "array",
            "items": {"enum": list(SINKS)},
            "minItems": 1,
            "uniqueItems": True,
            "description": "webhook (PUSH_WEBHOOK_URL), redis (a Redis stream per "
            "collection) and/or mysql (PUSH_MYSQL_URL: a MySQL/MariaDB table per collection).",
        },
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 1000},
        "skip_duplicates": {
            "anyOf": [
                {"type": "boolean"},
                {"type": "array", "items": {"enum": list(SINKS)}, "uniqueItems": True},
            ],
            "description": "Deliver a story once: items stored as near-duplicates of an "
            "earlier one (their item type's near_duplicates:) are not delivered to these sinks "
            "(true: every sink of this rule), only counted.",
        },
    },
    "required": ["sinks"],
    "additionalProperties": False,
}


def build(ctx: BuildContext) -> MappingProxyType:
    spec = ctx.data.get("push")
    if not isinstance(spec, dict) or ctx.broken(("push",)):
        return MappingProxyType({})
    return MappingProxyType(dict(spec))


def to_settings(spec: Any) -> dict[str, Any]:
    if not spec:
        return {}
    out: dict[str, Any] = {"PUSH_SINKS": list(spec["sinks"])}
    if "batch_size" in spec:
        out["PUSH_BATCH_SIZE"] = spec["batch_size"]
    skip = spec.get("skip_duplicates")
    if skip:
        out["PUSH_SKIP_DUPLICATES"] = list(spec["sinks"]) if skip is True else list(skip)
    return out


SECTION = Section(
    name="push",
    order=80,
    properties={"push": {"$ref": "#/$defs/push"}},
    defs={"push": PUSH},
    build=build,
    settings=to_settings,
)
