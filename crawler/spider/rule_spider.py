"""The generic spider: one subclass per rule, built by the spider loader.

A thin adapter: start requests come from the rule compiler's request specifications
(:func:`crawler.rules.request_specs.start_requests`); every response goes through the compiled page
type (:mod:`crawler.spider.extract`), whose items and follows become Scrapy items and requests.
One-off behaviour (preview, parse) lives in the commands, not here.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import DownloadCancelledError, UsageError
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

from crawler.core.addresses import AddressPolicy, on_domains, rule_policy
from crawler.core.sites import META_SITE
from crawler.defaults import catalog
from crawler.rules import templates
from crawler.rules.itemtypes import ItemType
from crawler.rules.model import Rule
from crawler.rules.request_specs import (
    RequestSpec,
    RuleArgs,
    StartError,
    guess_page,
    resolve_args,
    secret_values,
    start_requests,
)
from crawler.rules.routing import ItemRoute, item_routes
from crawler.rules.sections.settings import setting_problems
from crawler.spider.extract import CompiledRule, Follow, PageResult
from crawler.spider.extract.inputs import META_RENDER_JSON
from crawler.spider.listings import Listings
from crawler.spider.requests import (
    META_CARRY,
    META_DEPTH_BASE,
    META_LISTING,
    META_PAGE,
    META_PAGENO,
    inherited_headers,
    to_request,
)
from crawler.spider.signals import request_failed
from crawler.store import StoreTarget, item_columns
from vocab.redaction import Redactor

__all__ = ["META_CARRY", "META_PAGE", "META_PAGENO", "RuleRefused", "RuleSpider"]

#: What a request carries that :meth:`RuleSpider.extract_page` reads: a page archive keeps it
#: to parse the response again later (crawler/archive).
EXTRACT_META = (META_PAGE, META_CARRY, META_PAGENO, META_DEPTH_BASE, "depth", META_RENDER_JSON)


class RuleRefused(UsageError):
    """The rule has problems: ``scrapy crawl`` exits with ``rule_error`` (3), listing them."""


class RuleSpider(scrapy.Spider):
    rule: ClassVar[Rule]
    item_types: ClassVar[Mapping[str, ItemType]] = {}  # the item types the rule's pages produce
    routes: ClassVar[Mapping[str, ItemRoute]] = {}  # page type -> where its items go
    site_group: Any = None  # the crawl of many sites this one is a site of (site_group.py)

    @classmethod
    def for_rule(
        cls, rule: Rule, item_types: Mapping[str, ItemType] | None = None
    ) -> type[RuleSpider]:
        """A spider class for ``rule`` (what ``scrapy crawl <rule>`` runs)."""
        class_name = "RuleSpider_" + "".join(c if c.isalnum() else "_" for c in rule.name)
        used = {rule.target(page).type for page in rule.pages} - {None}
        types = {name: t for name, t in (item_types or {}).items() if name in used}
        return type(
            class_name,
            (cls,),
            {
                "name": rule.name,
                "rule": rule,
                "item_types": types,
                "routes": item_routes(rule, types),
                "custom_settings": dict(rule.crawl_settings),
                "__module__": __name__,
            },
        )

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Apply the rule's settings, after checking them again here, where they take effect:
        a rule may set only plain settings declared safe for rules (defence in depth: the
        compiler checks them too)."""
        refused = [message for _, message in setting_problems(cls.rule.settings, catalog())]
        if refused:
            raise RuleRefused(f"rule {cls.rule.name}: " + "; ".join(refused), print_help=False)
        super().update_settings(settings)

    @classmethod
    def handles_request(cls, request: Request) -> bool:
        """Whether ``request.url`` is a page of this rule (``scrapy shell URL`` picks its spider
        so): on the rule's domains (its allowed domains, else the hosts of its start URLs) and
        either a page type's ``match`` fits it or it is one of the rule's start URLs."""
        rule = cls.rule
        domains = list(rule.allowed_domains) or default_start_hosts(rule)
        try:
            host = (urlsplit(request.url).hostname or "").lower()
        except ValueError:
            return False
        if not any(host == d or host.endswith(f".{d}") for d in map(str.lower, domains)):
            return False  # as the offsite middleware judges: by host name, whatever the port
        defaults = {k: v for k, v in rule.args.items() if v is not None}
        return guess_page(rule, request.url, defaults) is not None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        rule = self.rule
        self.rule_args: RuleArgs = resolve_args(rule, kwargs)
        self.args = dict(self.rule_args.values)
        if self.rule_args.unknown:
            self.logger.warning(
                "rule %s has no argument(s) %s; declared: %s",
                rule.name,
                ", ".join(self.rule_args.unknown),
                ", ".join(rule.args) or "none",
            )
        self.compiled = CompiledRule(rule, self.args)
        self.redactor = Redactor(secret_values(rule, self.args))
        self.missing_args = list(self.rule_args.missing)
        self.allowed_domains = list(rule.allowed_domains) or start_hosts(rule, self.args)
        self._logged: set[str] = set()
        # A page render: auto judged before its callback: (response, its extraction), used once
        self.extracted: tuple[Response, tuple[str, PageResult]] | None = None
        # One bound method for every request: Scrapy caches its check of a callback's source
        # (is_generator_with_return_value) under a weak reference to the callback object, so a
        # new bound method per request re-read and re-parsed parse_page's source per response.
        self.parse_page = self.parse_page

    # --- requests ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.site_group is None:  # a crawl of a thousand sites says it once, not per site
            log_routes(self)
        stats = self.crawler.stats
        try:
            specs = start_requests(
                self.rule,
                self.rule_args,
                max_requests=self.settings.getint("RULE_MAX_START_REQUESTS"),
                on_bad_url=self._bad_start_url,
            )
        except StartError as exc:  # no request at all; the run's status says why
            self.logger.error("%s", exc)
            stats.set_value("rule/start_error", str(exc))
            if self.missing_args:
                stats.set_value("rule/missing_arguments", ", ".join(self.missing_args))
            return
        for spec in specs:
            try:
                yield self.request(spec)
            except ValueError as exc:  # a URL Scrapy refuses, e.g. made invalid by an argument
                self._bad_start_url(spec.url, str(exc))

    def _bad_start_url(self, url: str, reason: str) -> None:
        self.crawler.stats.inc_value("rule/request_errors/bad_start_url")
        self.log_once("bad_start_url", f"cannot request start URL {url!r}: {reason}")

    def request(self, spec: RequestSpec) -> Request:
        group = self.site_group
        if group is None:
            return to_request(spec, self.parse_page, self.on_error)
        request = to_request(spec, group.parse_site, group.site_error)
        request.meta[META_SITE] = self.name
        return request

    def follow_request(self, follow: Follow, response: Response) -> Request | None:
        """The request of a link or a next page; None for a link off the site's domains in a
        crawl of many sites (Scrapy's offsite check sees all their domains together)."""
        if self.site_group is not None and not self.on_own_domains(follow.url):
            self.crawler.stats.inc_value("offsite/filtered")
            return None
        spec = RequestSpec(
            url=follow.url,
            page=follow.page,
            headers=inherited_headers(response.meta),
            carry=follow.carry,
            priority=follow.priority,
            pageno=follow.pageno,
            depth_base=response.meta.get(META_DEPTH_BASE, 0),
        )
        return self.request(spec)

    @cached_property
    def listings(self) -> Listings:
        """The sitemap and feed starts' documents: what they list, within their bounds."""
        return Listings(self)

    # --- responses --------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Any:
        """A response with no page type known (``scrapy parse URL``): the one whose ``match``
        fits its URL."""
        return self.parse_page(response)

    def parse_page(self, response: Response) -> Any:
        listing = _meta(response).get(META_LISTING)
        if listing is not None:  # a start's sitemap, robots.txt or feed: the pages it lists
            yield from self.listings.read(response, listing)
            return
        stats = self.crawler.stats
        kept, self.extracted = self.extracted, None
        extracted = kept[1] if kept is not None and kept[0] is response else None
        extracted = extracted or self.extract_page(response)
        if extracted is None:
            stats.inc_value("rule/problems/no_page_type")
            self.log_once("no_page_type", f"no page type for {response.url}")
            return
        page, result = extracted
        stats.inc_value(f"rule/pages/{page}")
        for reason, message in result.problems:
            stats.inc_value(f"rule/problems/{reason}")
            self.log_once(reason, f"{message} on {response.url}")
        for item in result.items:
            stats.inc_value("rule/items/invalid" if "_errors" in item else "rule/items/extracted")
            if "_clean_errors" in item:
                stats.inc_value("rule/items/clean_errors")
            yield self.redactor.value(item) if self.redactor else item
        for follow in result.follows:
            request = self.follow_request(follow, response)
            if request is not None:
                yield request

    def on_error(self, failure: Any) -> None:
        request = failure.request
        response = getattr(failure.value, "response", None)
        if response is not None:  # an HTTP error status, after Scrapy's own retries
            reason, detail = f"http_{response.status}", f"HTTP {response.status}"
        else:
            reason, detail = failure_reason(failure.value), failure.getErrorMessage()
        self.crawler.stats.inc_value(f"rule/request_errors/{reason}")
        self.log_once(f"request:{reason}", f"request failed ({detail}) for {request.url}")
        self.crawler.signals.send_catch_log(request_failed, request=request, failure=failure)

    def on_own_domains(self, url: str) -> bool:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return False
        return not self.allowed_domains or on_domains(host, self.allowed_domains)

    def address_policy(self, also: list[str]) -> AddressPolicy:
        """Which private addresses a run may reach: its start origins and ``also``."""
        return rule_policy(self.rule, self.args, also)

    # --- the store seam (crawler.store.base.TargetsItems) -------------------------------------

    def store_target(self, item: dict[str, Any]) -> StoreTarget:
        route = self.routes.get(item.get("_page") or "") or self.routes[""]
        kind = route.item_type
        if kind is None:
            return StoreTarget(route.collection, route.key_for(item), route.history)
        return StoreTarget(
            route.collection,
            route.key_for(item),
            route.history,
            kind.near_duplicates,
            _columns(kind),  # typed columns, for a store that keeps them (PostgreSQL)
        )

    def page_of(self, response: Response) -> str | None:
        """The page type of ``response``: its request's, else the one whose ``match`` fits its
        URL; None when it is of none."""
        page = _meta(response).get(META_PAGE)
        return page if page in self.compiled.pages else self.compiled.guess_page(response.url)

    def extract_page(
        self, response: Response, now: datetime | None = None
    ) -> tuple[str, PageResult] | None:
        """The page type of ``response`` and what the page yields; None when it is of no page
        type. ``now``: when it was fetched (default: now; a page parsed again from an archive
        keeps its own time, which relative dates are read against)."""
        page = self.page_of(response)
        if page is None:
            return None
        meta = _meta(response)
        result = self.compiled.extract(
            page,
            response,
            carry=meta.get(META_CARRY),
            depth=meta.get("depth", 0) - meta.get(META_DEPTH_BASE, 0),
            pageno=meta.get(META_PAGENO, 1),
            now=now or datetime.now(UTC),
        )
        return page, result

    def replay_state(self, response: Response) -> tuple[str, dict[str, Any]] | None:
        """The page type of ``response`` and what its request carried that extraction reads
        (:data:`EXTRACT_META`), to parse it again later (crawler/archive); None for a sitemap or
        feed and for a page of no page type."""
        meta = _meta(response)
        if meta.get(META_LISTING) is not None:
            return None
        page = self.page_of(response)
        if page is None:
            return None
        return page, {key: meta[key] for key in EXTRACT_META if key in meta}

    def expects_content(self, response: Response) -> bool | None:
        """The ban middleware's question (crawler.antiban.ExpectsContent), asked of a page its
        policy doubts: does it yield its page type's required fields? (crawler.spider.expectations)"""
        from crawler.spider.expectations import expects_content

        return expects_content(self, response)

    def lacks_content(self, response: Response) -> str | None:
        """``render: auto``'s question of a static page: why it is not a whole page of its
        type, or None (crawler.spider.expectations)."""
        from crawler.spider.expectations import lacks_content

        return lacks_content(self, response)

    def log_once(self, reason: str, message: str) -> None:
        """The first occurrence of each reason is a warning; repeats are counted, logged at debug."""
        level = logging.DEBUG if reason in self._logged else logging.WARNING
        self._logged.add(reason)
        self.logger.log(level, "%s: %s", reason, message)


def failure_reason(exc: BaseException) -> str:
    """A short stat key for a failed request. Bodies over DOWNLOAD_MAXSIZE (downloaded, or
    inflated by decompression) are ``too_large``; Scrapy says so only in its messages, pinned
    by tests/security/test_bounded_responses.py."""
    if isinstance(exc, DownloadCancelledError) or "DOWNLOAD_MAXSIZE" in str(exc):
        return "too_large"
    return type(exc).__name__


def start_hosts(rule: Rule, args: Mapping[str, Any]) -> list[str]:
    """Hosts of the rule's start URLs and sitemaps or feeds (its allowed domains when it names
    none), read from the first URLs of each template (ranges vary paths, rarely hosts)."""
    hosts: list[str] = []
    for spec in rule.start:
        for template in spec.first_urls:
            try:
                urls = list(itertools.islice(templates.expand(template, args), 1000))
            except (KeyError, ValueError):
                continue
            for url in urls:
                try:
                    host = urlsplit(url).hostname
                except ValueError:
                    continue
                if host and host not in hosts:
                    hosts.append(host)
    return hosts


def default_start_hosts(rule: Rule) -> list[str]:
    return start_hosts(rule, {k: v for k, v in rule.args.items() if v is not None})


def log_routes(spider: RuleSpider) -> None:
    """One INFO line per page type that makes items: which collection they go to and why there,
    their key and item type (``item: {type: book}`` names the collection after the type)."""
    from crawler.rules.routing import describe_route

    rule = spider.rule
    for name, page in rule.pages.items():
        if page.emits_items and name in spider.routes:
            route = describe_route(rule, spider.routes[name])
            spider.logger.info("items of page type %s -> %s", name, route)


def _meta(response: Response) -> Mapping[str, Any]:
    request = getattr(response, "request", None)
    return request.meta if request is not None else {}


@functools.lru_cache(maxsize=256)
def _columns(kind: ItemType) -> tuple[tuple[str, str], ...]:
    """The typed columns of an item type's items (computed once per item type)."""
    return item_columns(kind.fields)
