"""Sitemap and feed starts in a crawl: the pages a start's sitemap, robots.txt or feed lists
become requests of its page type (docs/rules.md, *Sitemaps and feeds*).

The start's document is fetched like any request of the crawl (politeness, proxies, robots,
``DOWNLOAD_MAXSIZE``, ``Content-Encoding: gzip``); the rule spider hands its response to
:meth:`Listings.read`, which reads it (:mod:`crawler.spider.listing_formats`) and yields

- for a sitemap index or a robots.txt: requests for the sitemaps it names, one level deeper,
  down to the start's ``max_depth`` (at most ``RULE_SITEMAP_MAX_DEPTH``) and at most
  ``RULE_SITEMAP_MAX_FILES`` documents per start;
- for a sitemap or a feed: requests for the pages it lists that the start's ``allow``/``deny``
  keep, at most its ``max_urls`` (at most ``RULE_SITEMAP_MAX_URLS``) per start. Each carries
  when the page last changed (an incremental crawl skips it when that is not after its last
  fetch: crawler/distributed/incremental_crawl.py) and counts as a start page for ``max_depth``
  of the links it leads to.

Bounds are counted per crawl process. Stats: ``rule/listings/<kind>`` (documents read:
``urlset``, ``sitemapindex``, ``robots``, ``feed``), ``rule/listings/pages`` (pages requested),
``rule/listings/filtered`` (left out by allow/deny), ``rule/listings/over_max_urls``,
``rule/listings/too_deep``, ``rule/listings/over_max_files`` (left out by a bound);
``rule/problems/<reason>`` for what could not be read (``sitemap_malformed``,
``feed_malformed``, ``not_a_sitemap``, ``not_a_feed``, ``robots_without_sitemaps``,
``listing_bad_url``, ``listing_bad_date``) and ``rule/request_errors/too_large`` for a gzip
sitemap inflating past ``DOWNLOAD_MAXSIZE``. Each reason is logged once, never a traceback.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

from scrapy.http import Request, Response

from crawler.rules.model import StartSpec
from crawler.rules.request_specs import RequestSpec, url_problem
from crawler.spider.listing_formats import (
    Document,
    ListingError,
    document_body,
    parse_date,
    read_feed,
    read_robots,
    read_sitemap,
)
from crawler.spider.requests import inherited_headers

KINDS = ("sitemap", "robots", "feed")


class Listings:
    """The sitemap and feed starts of one rule spider: what each has requested so far."""

    def __init__(self, spider: Any) -> None:
        self.spider = spider
        settings = spider.settings
        self.max_urls = settings.getint("RULE_SITEMAP_MAX_URLS")
        self.max_depth = settings.getint("RULE_SITEMAP_MAX_DEPTH")
        self.max_files = settings.getint("RULE_SITEMAP_MAX_FILES")
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        self.pages: Counter[int] = Counter()  # start -> listed pages requested
        self.files: Counter[int] = Counter()  # start -> documents requested past its own
        self._filters: dict[int, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]] = {}

    @property
    def stats(self) -> Any:
        return self.spider.crawler.stats

    def read(self, response: Response, listing: Mapping[str, Any]) -> Iterator[Request]:
        """The requests a start's document (``listing``: its request's meta) leads to."""
        kind, depth, index = listing.get("kind"), listing.get("depth"), listing.get("start")
        spec = self.start_of(index)
        if kind not in KINDS or not isinstance(depth, int) or spec is None:
            self.problem("listing_unknown", f"{response.url} is no sitemap or feed of a start")
            return
        try:
            body = document_body(response.body, self.max_size)
            document = read_document(kind, body, response.url)
        except ListingError as exc:
            self.unreadable(kind, exc, response.url)
            return
        self.stats.inc_value(f"rule/listings/{document.kind}")
        if document.kind in ("sitemapindex", "robots"):
            yield from self.sitemaps(document, response, spec, index, depth)
        else:
            yield from self.listed_pages(document, response, spec, index)
        malformed = document.malformed()
        if malformed:
            what = "feed" if kind == "feed" else "sitemap"
            self.problem(
                f"{what}_malformed",
                f"{response.url} is malformed ({malformed}); what could be read was kept",
            )

    def start_of(self, index: Any) -> StartSpec | None:
        starts = self.spider.rule.start
        if isinstance(index, int) and 0 <= index < len(starts) and starts[index].listing:
            return starts[index]
        return None

    # --- a sitemap index or a robots.txt: more sitemaps -----------------------------------------

    def sitemaps(
        self, document: Document, response: Response, spec: StartSpec, index: int, depth: int
    ) -> Iterator[Request]:
        max_depth = self.depth_limit(spec)
        named = 0
        for entry in document.entries:
            named += 1
            url = self.resolve(response.url, entry.url)
            if url is None:
                continue
            if depth + 1 > max_depth:
                whose = "its max_depth" if max_depth == spec.max_depth else "RULE_SITEMAP_MAX_DEPTH"
                self.bounded(
                    "too_deep",
                    f"start[{index}]: {url} lies {depth + 1} levels below the start's document, "
                    f"deeper than {max_depth} ({whose}): not fetched",
                )
            elif self.pages[index] >= self.url_limit(spec):
                self.bounded("over_max_urls", self.full(index, spec))
            elif self.files[index] >= self.max_files:
                self.bounded(
                    "over_max_files",
                    f"start[{index}] fetched {self.max_files:,} sitemaps, the most it may "
                    f"(setting RULE_SITEMAP_MAX_FILES): {url} and the rest are not fetched",
                )
            else:
                self.files[index] += 1
                sitemap = RequestSpec(
                    url=url,
                    page=spec.page,
                    headers=inherited_headers(response.meta),
                    priority=spec.priority or 0,
                    # never a duplicate: another start may read the same sitemap for its own
                    # pages (bounded by depth and RULE_SITEMAP_MAX_FILES, loops included)
                    start=True,
                    start_index=index,
                    listing="sitemap",
                    listing_depth=depth + 1,
                )
                request = self.request(sitemap)
                if request is not None:
                    yield request
        if document.kind == "robots" and not named:
            self.problem("robots_without_sitemaps", f"{response.url} names no sitemap")

    # --- a sitemap or a feed: pages ------------------------------------------------------------

    def listed_pages(
        self, document: Document, response: Response, spec: StartSpec, index: int
    ) -> Iterator[Request]:
        allow, deny = self.filters(index, spec)
        page = self.spider.rule.pages[spec.page]
        priority = spec.priority if spec.priority is not None else page.priority
        depth_base = response.meta.get("depth", 0) + 1
        limit = self.url_limit(spec)
        for entry in document.entries:
            url = self.resolve(response.url, entry.url)
            if url is None:
                continue
            if (allow and not any(p.search(url) for p in allow)) or any(
                p.search(url) for p in deny
            ):
                self.stats.inc_value("rule/listings/filtered")
                continue
            if self.pages[index] >= limit:
                self.bounded("over_max_urls", self.full(index, spec))
                continue
            lastmod = None
            if entry.lastmod:
                lastmod = parse_date(entry.lastmod)
                if lastmod is None:
                    self.problem(
                        "listing_bad_date",
                        f"{entry.lastmod!r} is no date ({url} in {response.url})",
                    )
            request = self.request(
                RequestSpec(
                    url=url,
                    page=spec.page,
                    headers=inherited_headers(response.meta),
                    carry=spec.carry,
                    priority=priority,
                    start_index=index,
                    lastmod=lastmod,
                    depth_base=depth_base,
                )
            )
            if request is not None:
                self.pages[index] += 1
                self.stats.inc_value("rule/listings/pages")
                yield request

    # --- shared --------------------------------------------------------------------------------

    def request(self, spec: RequestSpec) -> Request | None:
        spider = self.spider
        if spider.site_group is not None and not spider.on_own_domains(spec.url):
            self.stats.inc_value("offsite/filtered")  # as follow_request: one site's own domains
            return None
        try:
            return spider.request(spec)
        except ValueError as exc:  # a URL Scrapy refuses
            self.problem("listing_bad_url", f"cannot request {spec.url!r}: {exc}")
            return None

    def resolve(self, base: str, written: str) -> str | None:
        url = urljoin(base, written.strip())
        problem = url_problem(url)
        if problem:
            self.problem(
                "listing_bad_url", f"cannot request {written!r} listed in {base}: {problem}"
            )
            return None
        return url

    def url_limit(self, spec: StartSpec) -> int:
        return self.max_urls if spec.max_urls is None else min(spec.max_urls, self.max_urls)

    def depth_limit(self, spec: StartSpec) -> int:
        return self.max_depth if spec.max_depth is None else min(spec.max_depth, self.max_depth)

    def full(self, index: int, spec: StartSpec) -> str:
        limit = self.url_limit(spec)
        whose = "its max_urls" if limit == spec.max_urls else "RULE_SITEMAP_MAX_URLS"
        return f"start[{index}] requested {limit:,} listed pages ({whose}): the rest are left out"

    def filters(
        self, index: int, spec: StartSpec
    ) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
        if index not in self._filters:  # checked by the compiler: they compile
            self._filters[index] = (
                [re.compile(p) for p in spec.allow],
                [re.compile(p) for p in spec.deny],
            )
        return self._filters[index]

    def unreadable(self, kind: str, exc: ListingError, url: str) -> None:
        if exc.reason == "too_large":
            self.stats.inc_value("rule/request_errors/too_large")
            self.spider.log_once("request:too_large", f"{url}: {exc} (setting DOWNLOAD_MAXSIZE)")
            return
        reason = exc.reason
        if reason == "malformed":
            reason = "feed_malformed" if kind == "feed" else "sitemap_malformed"
        self.problem(reason, f"{url}: {exc}; nothing read from it")

    def problem(self, reason: str, message: str) -> None:
        self.stats.inc_value(f"rule/problems/{reason}")
        self.spider.log_once(reason, message)

    def bounded(self, what: str, message: str) -> None:
        self.stats.inc_value(f"rule/listings/{what}")
        self.spider.log_once(f"listings_{what}", message)


def read_document(kind: str, body: bytes, url: str) -> Document:
    if kind == "robots":
        return read_robots(body, url)
    if kind == "feed":
        return read_feed(body)
    return read_sitemap(body)
