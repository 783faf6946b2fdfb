"""Where a rule's items go: per page type, the collection, the key that identifies an item, its
item type (with the rule's field mapping) and whether earlier versions are kept; and, for the
item type's messages, the cleaners the rule runs on each field.

One route per page type, decided once per rule; the item pipelines ask it for every item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cleaners.registry import chain_names
from crawler.rules.model import EMPTY, Rule


@dataclass(frozen=True)
class ItemRoute:
    collection: str
    key: tuple[str, ...] | None = None  # None: ``url`` when the item has one, else ``_url``
    history: bool = False
    item_type: Any = None  # an ItemType, or None
    map: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    # extracted field -> the cleaners the rule ran on it (on this page type, or where it was
    # carried from): an item type's message never asks to add one of them
    cleaners: Mapping[str, frozenset[str]] = field(default_factory=lambda: EMPTY)
    named_after: str = "rule"  # what gave the collection its name: see :func:`describe_route`

    def key_for(self, item: Mapping[str, Any]) -> tuple[str, ...]:
        return self.key or (("url",) if item.get("url") else ("_url",))


def item_routes(rule: Rule, item_types: Mapping[str, Any]) -> Mapping[str, ItemRoute]:
    """Page type -> route; the rule's own ``item:`` under the key ``""`` (pages unknown)."""
    cleaned = cleaned_fields(rule)
    routes = {"": _route(rule, rule.item, item_types, EMPTY)}
    for name in rule.pages:
        routes[name] = _route(rule, rule.target(name), item_types, cleaned[name])
    return MappingProxyType(routes)


def _route(
    rule: Rule, target: Any, item_types: Mapping[str, Any], cleaners: Mapping[str, frozenset[str]]
) -> ItemRoute:
    item_type = item_types.get(target.type) if target.type else None
    named_after = "collection" if target.collection else "type" if target.type else "rule"
    return ItemRoute(
        collection=target.collection or target.type or rule.name,
        key=target.key or (item_type.key if item_type is not None else None),
        history=bool(item_type.history) if item_type is not None else False,
        item_type=item_type,
        map=target.map,
        cleaners=cleaners,
        named_after=named_after,
    )


def describe_route(rule: Rule, route: ItemRoute) -> str:
    """Where a page type's items go, and why there, for a person.

    >>> shop = Rule("shop", None, MappingProxyType({}))
    >>> describe_route(shop, ItemRoute("book", named_after="type"))
    "collection 'book' (named after item type 'book'), key url (else the page URL _url), item type book"
    >>> describe_route(shop, ItemRoute("shop", key=("sku",)))
    "collection 'shop' (named after rule 'shop'), key sku, item type none"
    """
    why = {
        "collection": "set by item.collection",
        "type": f"named after item type {route.collection!r}",
        "rule": f"named after rule {rule.name!r}",
    }[route.named_after]
    key = ", ".join(route.key) if route.key else "url (else the page URL _url)"
    kind = route.item_type.name if route.item_type is not None else None
    if kind is None and route.named_after == "type":
        kind = route.collection
    return f"collection {route.collection!r} ({why}), key {key}, item type {kind or 'none'}"


def cleaned_fields(rule: Rule) -> dict[str, dict[str, frozenset[str]]]:
    """Per page type, per field its items hold, the cleaners the rule ran on it: the page's own
    fields' chains, and those of fields carried to it (through any number of pages)."""
    cleaned: dict[str, dict[str, set[str]]] = {name: {} for name in rule.pages}
    for name, page in rule.pages.items():
        for spec in (*page.fields, *(page.rows.fields if page.rows else ())):
            if spec.clean is not None:
                cleaned[name].setdefault(spec.name, set()).update(chain_names(spec.clean))
    carries = [
        (name, link)
        for name, page in rule.pages.items()
        for link in (*page.links, *(page.rows.links if page.rows else ()))
        if link.carry and link.to in cleaned
    ]
    changed = True
    while changed:  # grows only, within the rule's field names: it ends
        changed = False
        for source, link in carries:
            for fname, names in list(cleaned[source].items()):
                if link.carry is not True and fname not in link.carry:
                    continue
                into = cleaned[link.to].setdefault(fname, set())
                if not names <= into:
                    into |= names
                    changed = True
    return {
        name: MappingProxyType({f: frozenset(n) for f, n in fields.items()})
        for name, fields in cleaned.items()
    }
