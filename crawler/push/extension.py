"""The ``Push`` extension: starts the pusher (:mod:`crawler.push.pusher`) when the spider
opens, for the collections the spider stores into, and lets it drain when the spider closes.

Settings: ``PUSH_SINKS`` (empty: off; a rule's ``push:`` section sets it), ``PUSH_SINK_CLASSES``
and the ``PUSH_*`` settings of crawler/defaults/push.py. A sink asked for but not configured
(its URL's environment variable unset) is reported once and left out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

from scrapy import signals
from scrapy.utils.misc import load_object
from twisted.internet import threads

from crawler.core.switches import off
from crawler.push.pusher import Pusher
from crawler.push.sinks import SinkNotConfigured
from crawler.store import crawl_store

logger = logging.getLogger(__name__)


def collections_of(spider: Any) -> list[str]:
    sites = getattr(spider, "sites", None)  # a crawl of many sites: each site's
    if isinstance(sites, dict) and sites:
        return sorted({c for site in sites.values() for c in collections_of(site)})
    routes = getattr(spider, "routes", None)
    if routes:
        return sorted({route.collection for route in routes.values()})
    return [spider.name]


def item_types_of(spider: Any) -> dict[str, Any]:
    """Collection -> the item type its items are stored as (the first, when routes differ)."""
    sites = getattr(spider, "sites", None)
    if isinstance(sites, dict) and sites:
        found: dict[str, Any] = {}
        for site in sites.values():
            for collection, item_type in item_types_of(site).items():
                found.setdefault(collection, item_type)
        return found
    routes = getattr(spider, "routes", None) or {}
    found = {}
    for route in routes.values():
        if getattr(route, "item_type", None) is not None:
            found.setdefault(route.collection, route.item_type)
    return found


def declare_types(sinks: list[Any], item_types: dict[str, Any]) -> None:
    """Tell the sinks that want them (``declare``: mysql) the collections' item types."""
    for sink in sinks:
        declare = getattr(sink, "declare", None)
        if declare is not None:
            for collection, item_type in sorted(item_types.items()):
                declare(collection, item_type.fields, item_type.key)


def build_sinks(settings: Any) -> list[Any]:
    classes = settings.getdict("PUSH_SINK_CLASSES")
    sinks = []
    for name in settings.getlist("PUSH_SINKS"):
        path = classes.get(name)
        if not path:
            logger.error("push sink %r is unknown: one of %s", name, ", ".join(sorted(classes)))
            continue
        try:
            sinks.append(load_object(path).from_settings(settings))
        except SinkNotConfigured as exc:
            logger.error("push sink %r is off: %s", name, exc)
    return sinks


class Push:
    def __init__(self, crawler: Any, sinks: list[Any], store_uri: str) -> None:
        self.crawler = crawler
        self.sinks = sinks
        self.store_uri = store_uri
        self.pusher: Pusher | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Push:
        settings = crawler.settings
        if not settings.getlist("PUSH_SINKS"):
            raise off("Push", "no push sink configured (PUSH_SINKS or a rule's push:)")
        uri = settings.get("STORE_URI") or ""
        if not uri or uri.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in uri:
            logger.error("push needs a store other processes can read; STORE_URI is %r", uri)
            raise off("Push", "no shared store")
        sinks = build_sinks(settings)
        if not sinks:
            raise off("Push", "no usable push sink")
        ext = cls(crawler, sinks, uri)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        declare_types(self.sinks, item_types_of(spider))
        self.pusher = Pusher(
            partial(crawl_store, self.crawler, self.store_uri),
            self.sinks,
            collections_of(spider),
            self.crawler.settings,
            self.crawler.stats,
            datetime.now(UTC),
        )
        self.pusher.start()

    def spider_closed(self, spider: Any) -> Any:
        if self.pusher is None:
            return None
        return threads.deferToThread(self.pusher.finish)
