"""Many sites as one crawl: a site table (or the rules of a tag) run by one Scrapy crawler.

A thousand rows of one template are a thousand rule spiders, but not a thousand crawlers: one
engine, one downloader and one scheduler serve them all, so the process costs what one crawl of
many hosts costs. :class:`SiteGroupSpider` holds one :class:`RuleSpider` per site (built as
``scrapy crawl ROW`` builds it, and seeing its own stats: :class:`crawler.core.sites.SiteStats`)
and hands every response to the site that asked for it: requests carry their site's name in
``meta[META_SITE]``, items their rule's name in ``_rule``. Components that ask a rule something
ask the site's spider (:func:`crawler.core.sites.site_of`).

Each site keeps

- **its politeness**: Scrapy's delay and concurrency are per host already; a row whose
  ``settings:`` give its own (``DOWNLOAD_DELAY``, ``CONCURRENT_REQUESTS_PER_DOMAIN``,
  ``HOST_RATE``, ``HOST_CONCURRENCY``) has them for its hosts (``DOWNLOAD_SLOTS``,
  ``HOST_BUDGETS``; the project's own entries win);
- **its links**: a site follows links on its own domains only (``offsite/filtered``);
- **its stats, coverage, monitors and run record** (crawler/runs/sites.py), and one site's
  failure (no valid start URL, a missing argument, every page failing) is its own.

Rules run together only when every other setting of theirs is the same
(:func:`group_by_settings`); the rest run as crawls of their own in the same process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from scrapy.settings import BaseSettings

from crawler.core.sites import SiteCrawler, SiteStats, site_name
from crawler.defaults import catalog
from crawler.rules.request_specs import secret_values
from crawler.rules.sections.settings import setting_problems
from crawler.spider.rule_spider import RuleRefused, RuleSpider, start_hosts
from crawler.store import StoreTarget
from vocab.redaction import Redactor

# A rule's settings that are a host's politeness: per site in a group, the rest are the group's.
PER_HOST = ("DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN", "HOST_RATE", "HOST_CONCURRENCY")
SLOT_KEYS = {"DOWNLOAD_DELAY": "delay", "CONCURRENT_REQUESTS_PER_DOMAIN": "concurrency"}
BUDGET_KEYS = {"HOST_RATE": "rate", "HOST_CONCURRENCY": "concurrency"}


def shared_settings(spidercls: type[RuleSpider]) -> tuple[tuple[str, str], ...]:
    """What must be equal for two rules to run as one crawl: their settings but politeness."""
    settings = spidercls.rule.crawl_settings
    return tuple(sorted((k, repr(v)) for k, v in settings.items() if k not in PER_HOST))


def group_by_settings(classes: Iterable[type[RuleSpider]]) -> list[list[type[RuleSpider]]]:
    """``classes`` in groups that can run as one crawl, in their order."""
    groups: dict[tuple[tuple[str, str], ...], list[type[RuleSpider]]] = {}
    for spidercls in classes:
        groups.setdefault(shared_settings(spidercls), []).append(spidercls)
    return list(groups.values())


def politeness(classes: Iterable[type[RuleSpider]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(DOWNLOAD_SLOTS, HOST_BUDGETS)`` entries for the hosts of the sites with politeness of
    their own."""
    slots: dict[str, dict[str, Any]] = {}
    budgets: dict[str, dict[str, Any]] = {}
    for spidercls in classes:
        rule = spidercls.rule
        own = {k: v for k, v in rule.crawl_settings.items() if k in PER_HOST}
        if not own:
            continue
        defaults = {k: v for k, v in rule.args.items() if v is not None}
        for host in list(rule.allowed_domains) or start_hosts(rule, defaults):
            slot = {SLOT_KEYS[k]: v for k, v in own.items() if k in SLOT_KEYS}
            budget = {BUDGET_KEYS[k]: v for k, v in own.items() if k in BUDGET_KEYS}
            if slot:
                slots.setdefault(host, {}).update(slot)
            if budget:
                budgets.setdefault(host, {}).update(budget)
    return slots, budgets


class SiteGroupSpider(scrapy.Spider):
    """One crawl of many sites (see the module docstring)."""

    site_classes: ClassVar[Mapping[str, type[RuleSpider]]] = {}
    routes: ClassVar[Mapping[str, Any]] = {}  # per site: site_of(spider, item).routes
    site_slots: ClassVar[dict[str, Any]] = {}  # DOWNLOAD_SLOTS of the sites' own politeness
    site_budgets: ClassVar[dict[str, Any]] = {}  # HOST_BUDGETS of the same

    @classmethod
    def for_sites(cls, name: str, classes: list[type[RuleSpider]]) -> type[SiteGroupSpider]:
        """A spider class crawling the sites of ``classes`` (rule spiders whose settings
        :func:`shared_settings` are the same) as one crawl named ``name``."""
        slots, budgets = politeness(classes)
        settings = {k: v for k, v in classes[0].rule.crawl_settings.items() if k not in PER_HOST}
        return type(
            "SiteGroupSpider_" + "".join(c if c.isalnum() else "_" for c in name),
            (cls,),
            {
                "name": name,
                "site_classes": {c.rule.name: c for c in classes},
                "custom_settings": settings,
                "site_slots": slots,
                "site_budgets": budgets,
                "__module__": __name__,
            },
        )

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Each site's settings are checked as ``scrapy crawl SITE`` checks them; the sites'
        own politeness goes under the project's (its entries for a host win)."""
        refused = [
            f"rule {name}: {message}"
            for name, spidercls in cls.site_classes.items()
            for _, message in setting_problems(spidercls.rule.settings, catalog())
        ]
        if refused:
            raise RuleRefused("; ".join(refused), print_help=False)
        super().update_settings(settings)
        for setting, own in (
            ("DOWNLOAD_SLOTS", cls.site_slots),
            ("HOST_BUDGETS", cls.site_budgets),
        ):
            if own:
                settings.set(setting, {**own, **settings.getdict(setting)}, priority="spider")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parse_site = self.parse_site  # one bound method for every request (see below)
        self.site_error = self.site_error
        self.sites: dict[str, RuleSpider] = {}
        for site, spidercls in self.site_classes.items():
            spider = spidercls(*args, **kwargs)
            spider.site_group = self
            self.sites[site] = spider
        domains = {d for spider in self.sites.values() for d in spider.allowed_domains}
        self.allowed_domains = sorted(domains)
        secrets = (secret_values(s.rule, s.args) for s in self.sites.values())
        self.redactor = Redactor(value for values in secrets for value in values)
        self.site_stats: dict[str, SiteStats] = {}

    def _set_crawler(self, crawler: Any) -> None:
        super()._set_crawler(crawler)
        for site, spider in self.sites.items():
            stats = SiteStats(through=CrawlStats(crawler))
            self.site_stats[site] = stats
            spider.crawler = SiteCrawler(crawler, stats)  # type: ignore[assignment]
            spider.settings = crawler.settings

    # --- which site --------------------------------------------------------------------------

    def site_of(self, thing: Any) -> Any:
        """The rule spider of the site ``thing`` (a request, a response, an item) belongs to;
        this spider when it names none of them."""
        return self.sites.get(site_name(thing) or "", self)

    # --- requests: every site's start requests, taken in turn ----------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.logger.info(
            "%d site(s) in one crawl: %s%s",
            len(self.sites),
            ", ".join(list(self.sites)[:10]),
            ", ..." if len(self.sites) > 10 else "",
        )
        pending = [spider.start().__aiter__() for spider in self.sites.values()]
        while pending:
            still = []
            for starts in pending:
                try:
                    request = await starts.__anext__()
                except StopAsyncIteration:
                    continue
                still.append(starts)
                yield request
            pending = still

    # --- what components ask a rule spider, answered by the site's ---------------------------

    def store_target(self, item: dict[str, Any]) -> StoreTarget:
        site = self.sites.get(site_name(item) or "")
        if site is None:
            raise ValueError(f"an item of no site of this crawl (_rule {item.get('_rule')!r})")
        return site.store_target(item)

    def expects_content(self, response: Response) -> bool | None:
        site = self.site_of(response)
        return None if site is self else site.expects_content(response)

    # One callback and one errback for every site's requests: Scrapy checks a callback's source
    # once per callback object and keeps 128 of them, so a thousand sites' own bound methods
    # would have it read and parse parse_page's source again for nearly every response.

    def parse_site(self, response: Response) -> Any:
        """A response, handed to the site that asked for it."""
        site = self.site_of(response)
        if site is self:
            self.logger.warning("a response of no site of this crawl: %s", response.url)
            return None
        return site.parse_page(response)

    def site_error(self, failure: Any) -> None:
        site = self.site_of(failure.request)
        if site is self:
            self.logger.warning("a failed request of no site of this crawl: %s", failure.request)
            return
        if getattr(failure.value, "response", None) is None:
            # what Scrapy counts for the crawl (downloader/exception_count, once per attempt),
            # once per request for the site: its status tells "nothing downloaded" by it
            self.site_stats[site.name].own().inc_value("downloader/exception_count")
        site.on_error(failure)

    def parse(self, response: Response, **kwargs: Any) -> Any:
        return self.parse_site(response)


class CrawlStats:
    """The crawl's stats collector, found when first used (Scrapy makes it after the spider)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.crawler.stats.inc_value(key, count, start)
