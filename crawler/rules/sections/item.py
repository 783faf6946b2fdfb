"""``item:``: where a rule's items go (collection, key) and which item type they follow. A page
type may override it with its own ``item:``."""

from __future__ import annotations

from types import MappingProxyType

from crawler.rules.compile_context import BuildContext
from crawler.rules.model import ItemTarget
from crawler.rules.problems import did_you_mean
from crawler.rules.sections import Section
from crawler.rules.yamlpos import Path

ITEM = {
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


def build_target(ctx: BuildContext, spec: dict, path: Path) -> ItemTarget:
    """An item target from the parts of ``spec`` the schema accepted."""
    key = ctx.part(spec, "key", path)
    type_name = ctx.part(spec, "type", path)
    mapping = ctx.part(spec, "map", path, {})
    if type_name is not None:
        item_type = ctx.item_types.get(type_name)
        if item_type is None:
            hint = did_you_mean(type_name, ctx.item_types)
            ctx.error(path + ("type",), f"no item type named {type_name!r} in rules/types/{hint}")
        elif not ctx.broken(path + ("map",)):
            for message in item_type.check_mapping(mapping):
                ctx.error(path + ("map",), message)
    return ItemTarget(
        collection=ctx.part(spec, "collection", path),
        key=(key,) if isinstance(key, str) else tuple(key) if key else None,
        type=type_name,
        map=MappingProxyType(dict(mapping)),
    )


def build(ctx: BuildContext) -> ItemTarget:
    spec = ctx.data.get("item")
    if not isinstance(spec, dict):
        return ItemTarget()
    return build_target(ctx, spec, ("item",))


SECTION = Section(
    name="item",
    order=5,
    properties={"item": {"$ref": "#/$defs/item"}},
    defs={"item": ITEM},
    build=build,
)

__all__ = ["ITEM", "SECTION", "build_target"]
