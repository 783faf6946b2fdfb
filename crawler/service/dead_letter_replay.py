"""Replaying dead letters once the rule or its item type is fixed: each one is validated
again as the crawl would (its rule's route for its page type: item type, mapping, key), then
stored, or kept aside with its new reason.

A dead letter holds the item as the item-type pipeline left it (mapped onto the type, with
``_errors`` and the raw values of fields whose cleaner failed in ``_raw``): the raw values are
put back and the mapping undone before the item goes through :meth:`ItemType.apply` again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.rules.routing import ItemRoute, item_routes
from crawler.store import Store, missing_key_field, strip_dead_fields

_MARKS = ("_errors", "_raw", "_clean_errors")


@dataclass
class ReplayOutcome:
    replayed: int = 0
    still_dead: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def _unmapped(doc: dict[str, Any], route: ItemRoute) -> dict[str, Any]:
    """The item as extracted: raw values restored, type fields back under their source names."""
    item = {k: v for k, v in doc.items() if k not in _MARKS}
    raw = doc.get("_raw") if isinstance(doc.get("_raw"), dict) else {}
    for type_field, value in raw.items():
        item[type_field] = value
    for type_field, source in (route.map or {}).items():
        if source not in item and type_field in item:
            item[source] = item.pop(type_field)
    return item


def revalidate(
    doc: Mapping[str, Any], route: ItemRoute | None
) -> tuple[dict[str, Any], str | None]:
    """``(item, None)`` when the dead letter now passes, ``(item, reason)`` when it does not."""
    item = strip_dead_fields(doc)
    if route is None:
        return item, "no rule or page type for this item any more"
    if route.item_type is not None:
        result = route.item_type.apply(_unmapped(item, route), route.map, cleaned_by=route.cleaners)
        item = result.item
        if result.raw:
            item["_raw"] = result.raw
        if result.errors:
            item["_errors"] = result.errors
            return item, "; ".join(result.errors)
    else:
        item = {k: v for k, v in item.items() if k not in _MARKS}
    missing = missing_key_field(item, route.key_for(item))
    if missing is not None:
        return item, f"missing key field '{missing}'"
    return item, None


def replay(
    store: Store,
    collection: str,
    docs: Sequence[dict[str, Any]],
    routes_of: Any,
) -> ReplayOutcome:
    """Replay ``docs`` (dead letters of ``collection``). ``routes_of(rule_name)`` gives the
    routes of a rule (page type -> :class:`ItemRoute`), or None if the rule is gone."""
    outcome = ReplayOutcome()
    for doc in docs:
        routes = routes_of(doc.get("_rule")) or {}
        route = routes.get(doc.get("_page") or "") or routes.get("")
        item, reason = revalidate(doc, route)
        if reason is None and route is not None and route.collection != collection:
            reason = f"its rule now stores it in {route.collection!r}, not {collection!r}"
        if reason is None:
            assert route is not None
            store.upsert_many(collection, [item], route.key_for(item), history=route.history)
            store.remove_dead(collection, [doc["_dead_id"]])
            outcome.replayed += 1
            continue
        outcome.still_dead += 1
        outcome.reasons[reason] = outcome.reasons.get(reason, 0) + 1
        if reason != doc.get("_reason"):  # kept aside again, under its new reason
            store.dead_letter(collection, [item], [reason])
            store.remove_dead(collection, [doc["_dead_id"]])
    return outcome


def rule_routes(settings: Any) -> Any:
    """``routes_of(rule_name)`` for the project's rules (compiled now, so fixes count)."""
    from crawler.spider import project_rules

    ruleset = project_rules(settings)
    rules, types = ruleset.rules, ruleset.item_types
    cache: dict[str, Mapping[str, ItemRoute] | None] = {}

    def routes_of(name: Any) -> Mapping[str, ItemRoute] | None:
        if not isinstance(name, str) or name not in rules:
            return None
        if name not in cache:
            rule = rules[name]
            used = {rule.target(page).type for page in rule.pages} - {None}
            cache[name] = item_routes(rule, {k: v for k, v in types.items() if k in used})
        return cache[name]

    return routes_of
