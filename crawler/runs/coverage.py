"""FieldCoverage: how often each field of each page type was filled, and what went wrong.

While a crawl runs, per page type (an item's ``_page``; ``-`` when it has none): stats
``coverage/<page>/items`` (items seen) and ``coverage/<page>/filled/<field>`` (items where the
field is filled: not None, not blank, not an empty list). At close, the shares as
``coverage/<page>/share/<field>`` (0..1, also in the run record's ``coverage``), and a WARNING

- for every field empty in every item of its page type (a selector broken on every page), and
- for every page type whose items all went to the dead letters, with the count of each reason
  (``missing key field 'upc': 61``), which the store pipeline reports through the
  ``item_dead_lettered`` signal.

Fields starting with ``_`` are metadata and not counted. Setting: ``COVERAGE_ENABLED`` (True).

Read back (monitors, the data service): :func:`field_coverage` gives each field's share from a
crawl's stats, in either shape the stats hold: ``coverage/<field>`` holding the share itself, or
the per page type counts (summed over the page types). A field no stat mentions has a coverage
of 0.

>>> field_coverage({"coverage/title": 1.0, "coverage/price": 0.5})
{'price': 0.5, 'title': 1.0}
>>> field_coverage({"coverage/book/items": 4, "coverage/book/filled/title": 4,
...                 "coverage/list/items": 4, "coverage/list/filled/title": 2})
{'title': 0.75}
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter, is_item
from scrapy import signals

from crawler.core.switches import off
from crawler.store import is_empty, item_dead_lettered

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PREFIX = "coverage/"
MAX_REASONS = 20  # distinct dead-letter reasons kept per page type; the rest are "other"


class FieldCoverage:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.fields: dict[str, set[str]] = defaultdict(set)
        self.items: Counter[str] = Counter()
        self.dead: Counter[str] = Counter()
        self.reasons: dict[str, Counter[str]] = defaultdict(Counter)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FieldCoverage:
        if not crawler.settings.getbool("COVERAGE_ENABLED"):
            raise off("FieldCoverage", "COVERAGE_ENABLED is off")
        ext = cls(crawler)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dead_lettered, signal=item_dead_lettered)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        if not is_item(item):
            return
        adapter = ItemAdapter(item)
        page = _page(adapter.get("_page"))
        self.items[page] += 1
        self.stats.inc_value(f"{PREFIX}{page}/items")
        known = self.fields[page]
        for name in adapter.field_names():
            if name.startswith("_"):
                continue
            if name not in known:
                known.add(name)
                self.stats.set_value(f"{PREFIX}{page}/filled/{name}", 0)
            if not is_empty(adapter.get(name)):
                self.stats.inc_value(f"{PREFIX}{page}/filled/{name}")

    def item_dead_lettered(self, item: Any, page: str, kind: str, reason: str, **kw: Any) -> None:
        page = _page(page)
        self.dead[page] += 1
        reasons = self.reasons[page]
        reasons[reason if reason in reasons or len(reasons) < MAX_REASONS else "other"] += 1

    def spider_closed(self, spider: Any, reason: str) -> None:
        for page, count in sorted(self.items.items()):
            empty = []
            for name in sorted(self.fields[page]):
                filled = self.stats.get_value(f"{PREFIX}{page}/filled/{name}", 0)
                self.stats.set_value(f"{PREFIX}{page}/share/{name}", round(filled / count, 4))
                if filled == 0:
                    empty.append(name)
            if empty:
                logger.warning(
                    "Field(s) %s of page type %r were empty in all %d item(s): check their "
                    "selectors (scrapy preview %s URL)",
                    ", ".join(repr(name) for name in empty),
                    page,
                    count,
                    spider.name,
                )
            if self.dead[page] >= count:
                reasons = ", ".join(f"{why}: {n}" for why, n in self.reasons[page].most_common())
                logger.warning(
                    "All %d item(s) of page type %r went to the dead letters (%s); none was "
                    "stored: see `scrapy export <collection>__dead`",
                    count,
                    page,
                    reasons,
                )


def _page(value: Any) -> str:
    return str(value) if value else "-"


def field_coverage(stats: Mapping[str, Any]) -> dict[str, float]:
    shares: dict[str, float] = {}
    items: dict[str, int] = {}
    filled: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        parts = key[len(PREFIX) :].split("/")
        if len(parts) == 1:
            shares[parts[0]] = float(value)
        elif len(parts) == 2 and parts[1] == "items":
            items[parts[0]] = int(value)
        elif len(parts) == 3 and parts[1] == "filled":
            filled.setdefault(parts[2], {})[parts[0]] = int(value)
    total = sum(items.values())
    if total:
        for name, per_page in filled.items():
            shares.setdefault(name, round(sum(per_page.values()) / total, 4))
    return dict(sorted(shares.items()))
