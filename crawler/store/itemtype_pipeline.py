"""Item-type validation in the item pipeline: map, clean and check items against their type.

An item whose page type names an item type (``item: {type: book}``) is mapped onto it (the rule's
``item.map``), cleaned by the type's cleaners and validated against its JSON Schema. An invalid
item is never dropped: it is marked with ``_errors`` (and the raw values of fields whose cleaner
failed in ``_raw``) so that the store pipeline keeps it in the dead-letter collection, counted
and logged once per reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from scrapy.crawler import Crawler

from crawler.core.sites import site_of
from crawler.rules.routing import ItemRoute

logger = logging.getLogger(__name__)


@runtime_checkable
class RoutesItems(Protocol):
    """A spider whose page types say where their items go and which item type they have (rule
    spiders: :attr:`crawler.spider.RuleSpider.routes`). Other spiders' items pass unchanged."""

    routes: Mapping[str, ItemRoute]


class ItemTypePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self._logged: set[str] = set()
        self._routed: tuple[Any, bool] = (None, False)  # (spider, it routes items): asked once

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ItemTypePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        if self._routed[0] is not spider:  # a Protocol's isinstance is slow: once per spider
            self._routed = (spider, isinstance(spider, RoutesItems))
        if not self._routed[1] or not isinstance(item, dict):
            return item
        route = site_of(spider, item).routes.get(item.get("_page") or "")
        item_type = route.item_type if route is not None else None
        if item_type is None:
            return item
        if (
            "_errors" in item
        ):  # already invalid at extraction: keep it as it is for the dead letters
            self.stats.inc_value(f"itemtype/{item_type.name}/invalid")
            return item
        out = typed_item(item, route)
        errors = out.get("_errors")
        if errors:
            self.stats.inc_value(f"itemtype/{item_type.name}/invalid")
            reason = errors[0].split(":", 1)[0]
            if reason not in self._logged:
                self._logged.add(reason)
                logger.warning(
                    "invalid %s item (kept aside as a dead letter): %s on %s",
                    item_type.name,
                    "; ".join(errors),
                    item.get("_url"),
                )
        else:
            self.stats.inc_value(f"itemtype/{item_type.name}/valid")
        return out


def typed_item(item: dict[str, Any], route: ItemRoute | None) -> dict[str, Any]:
    """``item`` mapped, cleaned and validated against its route's item type, marked with
    ``_errors`` (and ``_raw``) when invalid; as it is when the route has no item type or the
    item is invalid already. What the pipeline does to every item, for whoever else makes
    items (a backfill from the page archive: crawler/archive)."""
    item_type = route.item_type if route is not None else None
    if item_type is None or "_errors" in item:
        return item
    result = item_type.apply(item, route.map, cleaned_by=route.cleaners)
    out = result.item
    if result.raw:
        out["_raw"] = {**item.get("_raw", {}), **result.raw}
    if result.errors:
        out["_errors"] = result.errors
    return out
