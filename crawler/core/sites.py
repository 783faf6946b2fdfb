"""Many sites in one crawl: which site a request, a response or an item belongs to, and each
site's own stats.

A site table or a tag runs as one crawl (crawler/spider/site_group.py): one Scrapy crawler, one
engine, one downloader, whose spider holds one rule spider per site. Components that ask the
crawl's spider something a rule answers (its routes, its store target, its address policy,
whether a page has its content) ask :func:`site_of` instead, which answers the site's rule
spider in a group crawl and the spider itself otherwise. A request carries its site's name in
``meta[META_SITE]``; an item carries it as ``_rule``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

META_SITE = "rule_site"


def site_name(thing: Any) -> str | None:
    """The site named by ``thing``: an item's ``_rule``, a request's (or a response's request's)
    ``meta[META_SITE]``; None when it names none."""
    if isinstance(thing, Mapping):
        name = thing.get("_rule")
    else:
        meta = getattr(thing, "meta", None) if hasattr(thing, "callback") else None
        if meta is None:  # a response: its request's (response.meta raises without one)
            request = getattr(thing, "request", None)
            meta = getattr(request, "meta", None)
        name = meta.get(META_SITE) if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) else None


def site_of(spider: Any, thing: Any) -> Any:
    """The spider that answers for ``thing`` (a request, a response or an item): in a crawl of
    many sites, the rule spider of its site (the crawl's spider when it names none of them);
    otherwise the crawl's spider itself."""
    pick = getattr(spider, "site_of", None)
    return pick(thing) if pick is not None else spider


class SiteStats:
    """One site's stats in a crawl of many: a stats collector of its own (what its run record,
    status, coverage and monitors read). Counters the site's rule spider adds go to the crawl's
    stats too (``through``); values it sets (a start error) are the site's alone, so one site's
    trouble never becomes the crawl's."""

    def __init__(self, values: dict[str, Any] | None = None, through: Any = None) -> None:
        self._stats: dict[str, Any] = {} if values is None else values
        self.through = through
        self._own: SiteStats | None = None

    def own(self) -> SiteStats:
        """A view of the same values that does not add to the crawl's stats (for the figures
        the crawl's own components count already: pages, items, coverage)."""
        if self.through is None:
            return self
        if self._own is None:
            self._own = SiteStats(self._stats)
        return self._own

    def get_value(self, key: str, default: Any = None, spider: Any = None) -> Any:
        return self._stats.get(key, default)

    def get_stats(self, spider: Any = None) -> dict[str, Any]:
        return self._stats

    def set_value(self, key: str, value: Any, spider: Any = None) -> None:
        self._stats[key] = value

    def set_stats(self, stats: dict[str, Any], spider: Any = None) -> None:
        self._stats.clear()
        self._stats.update(stats)

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Any = None) -> None:
        stats = self._stats
        stats[key] = stats.get(key, start) + count
        if self.through is not None:
            self.through.inc_value(key, count, start)

    def max_value(self, key: str, value: Any, spider: Any = None) -> None:
        self._stats[key] = max(self._stats.setdefault(key, value), value)

    def min_value(self, key: str, value: Any, spider: Any = None) -> None:
        self._stats[key] = min(self._stats.setdefault(key, value), value)

    def clear_stats(self, spider: Any = None) -> None:
        self._stats.clear()


class SiteCrawler:
    """What a site's rule spider sees as its crawler: the crawl's, with the site's stats."""

    def __init__(self, crawler: Any, stats: SiteStats) -> None:
        self._crawler = crawler
        self.stats = stats

    def __getattr__(self, name: str) -> Any:
        return getattr(self._crawler, name)
