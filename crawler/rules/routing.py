"""Where a rule's items go: per page type, the collection, the key that identifies an item, its
item type (with the rule's field mapping) and whether earlier versions are kept.

One route per page type, decided once per rule; the item pipelines ask it for every item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from crawler.rules.model import EMPTY, Rule


@dataclass(frozen=True)
class ItemRoute:
    collection: str
    key: tuple[str, ...] | None = None  # None: ``url`` when the item has one, else ``_url``
    history: bool = False
    item_type: Any = None  # an ItemType, or None
    map: Mapping[str, str] = field(default_factory=lambda: EMPTY)

    def key_for(self, item: Mapping[str, Any]) -> tuple[str, ...]:
        return self.key or (("url",) if item.get("url") else ("_url",))


def item_routes(rule: Rule, item_types: Mapping[str, Any]) -> Mapping[str, ItemRoute]:
    """Page type -> route; the rule's own ``item:`` under the key ``""`` (pages unknown)."""
    routes = {"": _route(rule, rule.item, item_types)}
    for name in rule.pages:
        routes[name] = _route(rule, rule.target(name), item_types)
    return MappingProxyType(routes)


def _route(rule: Rule, target: Any, item_types: Mapping[str, Any]) -> ItemRoute:
    item_type = item_types.get(target.type) if target.type else None
    return ItemRoute(
        collection=target.collection or target.type or rule.name,
        key=target.key or (item_type.key if item_type is not None else None),
        history=bool(item_type.history) if item_type is not None else False,
        item_type=item_type,
        map=target.map,
    )
