"""``render: auto``: a page is rendered only when its static response misses what it should hold.

A request of an ``auto`` page type (or start) is first fetched statically. Its response is
judged (:meth:`AutoRender.judge`): a page that shows the rule's ``marker``, or that does not
yield its page type's required fields (for a type with no items: no link to follow), is
fetched again, rendered, and the static one is dropped; anything else is the page. A response
the ban policy doubts, or an HTTP error, is not judged: the ban middleware and the retries take
it, as for any page.

**Remembered per page type.** After ``RENDER_AUTO_SWITCH_AFTER`` static misses in a row a type
renders first (its static fetches were wasted); one page in ``recheck`` of it is still fetched
statically, and when that one has its content the type goes back to static first. Each site of
a crawl of many keeps its own memory.

Stats: ``render/auto/static`` (pages kept static), ``render/auto/rendered`` (pages rendered),
``render/auto/fallbacks`` (static misses fetched again rendered), ``render/auto/misses/<why>``
(``marker``, ``required``, ``no_items``, ``no_links``), ``render/auto/rechecks``,
``render/auto/render_first`` and ``render/auto/static_first`` (the switches).

>>> memory = TypeMemory()
>>> [memory.first_try(recheck=3) for _ in range(2)]
['static', 'static']
>>> memory.missed(switch_after=2), memory.missed(switch_after=2)
(False, True)
>>> [memory.first_try(recheck=3) for _ in range(3)]
['render', 'render', 'recheck']
>>> memory.found(), memory.render_first
(True, False)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.core.sites import site_of
from crawler.spider import META_PAGE, META_START

logger = logging.getLogger(__name__)

META_AUTO = "render_auto"  # "static": judge the response; "render": render it


@dataclass
class TypeMemory:
    """What one page type's static pages have shown so far."""

    render_first: bool = False
    misses_in_row: int = 0
    since_recheck: int = 0

    def first_try(self, *, recheck: int) -> str:
        """``static``, ``render``, or ``recheck`` (static, for a type that renders first)."""
        if not self.render_first:
            return "static"
        self.since_recheck += 1
        if self.since_recheck >= recheck:
            self.since_recheck = 0
            return "recheck"
        return "render"

    def missed(self, *, switch_after: int) -> bool:
        """A static page missed; True when the type now renders first."""
        self.misses_in_row += 1
        if not self.render_first and self.misses_in_row >= switch_after:
            self.render_first, self.since_recheck = True, 0
            return True
        return False

    def found(self) -> bool:
        """A static page had its content; True when the type goes back to static first."""
        self.misses_in_row = 0
        if self.render_first:
            self.render_first = False
            return True
        return False


class AutoRender:
    """The decisions of one crawl's ``auto`` page types (owned by the render middleware)."""

    def __init__(self, crawler: Any, ban_policy: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.ban_policy = ban_policy
        self.switch_after = crawler.settings.getint("RENDER_AUTO_SWITCH_AFTER")
        self.memories: dict[tuple[str, str], TypeMemory] = {}
        self._markers: dict[str, re.Pattern[str]] = {}

    def memory(self, request: Request, spider: Any) -> tuple[tuple[str, str], TypeMemory]:
        """The memory of ``request``'s page type (or start) in ``spider`` (its site's)."""
        start = request.meta.get(META_START)
        kind = f"start {start}" if start is not None else str(request.meta.get(META_PAGE))
        key = (getattr(spider, "name", "") or "", kind)
        memory = self.memories.get(key)
        if memory is None:
            memory = self.memories[key] = TypeMemory()
        return key, memory

    def renders(self, request: Request, spec: Any) -> bool:
        """Whether ``request`` (of an auto type) is rendered now, rather than fetched static
        and judged; marks it for :meth:`judge` and the stats either way."""
        if request.meta.get(META_AUTO) == "render":  # a static miss, fetched again
            return True
        _, memory = self.memory(request, site_of(self.crawler.spider, request))
        first = memory.first_try(recheck=spec.recheck)
        if first == "render":
            request.meta[META_AUTO] = "render"
            return True
        if first == "recheck":
            self.stats.inc_value("render/auto/rechecks")
        request.meta[META_AUTO] = "static"
        return False

    def judge(self, request: Request, response: Response, spec: Any) -> Request | None:
        """For a static response of an auto type (the middleware took its ``META_AUTO`` mark):
        the rendered request that replaces it when it misses its content, else None (the
        response is the page)."""
        if self._not_judged(request, response):
            return None
        spider = site_of(self.crawler.spider, request)
        key, memory = self.memory(request, spider)
        why = self.miss(spider, response, spec)
        if why is None:
            self.stats.inc_value("render/auto/static")
            if memory.found():
                self.stats.inc_value("render/auto/static_first")
                logger.info("render: auto: %s %s has its content statically again: static "
                            "first", *key)  # fmt: skip
            return None
        self.stats.inc_value(f"render/auto/misses/{why}")
        self.stats.inc_value("render/auto/fallbacks")
        if memory.missed(switch_after=self.switch_after):
            self.stats.inc_value("render/auto/render_first")
            logger.info(
                "render: auto: %s %s missed its content statically %d times in a row (%s): "
                "rendering first, one page in %d tried static",
                *key, self.switch_after, why, spec.recheck,
            )  # fmt: skip
        meta = {**request.meta, META_AUTO: "render"}
        return request.replace(meta=meta, dont_filter=True)

    def rendered(self, request: Request) -> None:
        if request.meta.get(META_AUTO) == "render":
            self.stats.inc_value("render/auto/rendered")

    def _not_judged(self, request: Request, response: Response) -> bool:
        if response.status != 200 or not isinstance(response, TextResponse):
            return True  # an error or a file: the retries and the spider's errback take it
        policy = self.ban_policy
        if policy is None or request.meta.get("dont_check_ban"):
            return False
        # a page the ban policy doubts is the ban middleware's (a wall is not a script-filled page)
        return policy.response_verdict(request, response) is not None

    def miss(self, spider: Any, response: TextResponse, spec: Any) -> str | None:
        """Why the static page is not the page (``marker``, or ``spider``'s reason), or None."""
        if spec.marker:
            pattern = self._markers.get(spec.marker)
            if pattern is None:
                pattern = self._markers[spec.marker] = re.compile(spec.marker)
            if pattern.search(response.text):
                return "marker"
        lacks = getattr(spider, "lacks_content", None)
        return lacks(response) if lacks is not None else None
