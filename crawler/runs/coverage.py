"""FieldCoverage: how often each field of each page type was filled, and what went wrong; and
reading coverage back, per page type and per item type.

While a crawl runs, per page type (an item's ``_page``; ``-`` when it has none): stats
``coverage/<page>/items`` (items seen), ``coverage/<page>/filled/<field>`` (items where the
field is filled: not None, not blank, not an empty list; 0 from the first item that has the
field at all) and ``coverage/<page>/item_type`` (the item type the rule routes the page type's
items to, when it has one). At close, the shares as ``coverage/<page>/share/<field>`` (0..1),
and a WARNING

- for every field empty in every item of its page type (a selector broken on every page), and
- for every page type whose items all went to the dead letters, with the count of each reason
  (``missing key field 'upc': 61``), which the store pipeline reports through the
  ``item_dead_lettered`` signal.

Fields starting with ``_`` are metadata and not counted; a files field (crawler/files) whose
every file was refused or failed counts as empty. Setting: ``COVERAGE_ENABLED`` (True).

Coverage is never merged across page types: a field filled on every item of one page type and
absent from another's items has a coverage of 1.0 in the first and none in the second. Read
back (the run recorder, the monitors, the data service) with :func:`page_coverage`, from a
crawl's stats or a run record of any age, and :func:`item_type_coverage` (the page types of one
item type together, each field over the items of the page types that have it). Records older
than per page type coverage kept one share per field (``coverage/<field>`` in the stats, or a
flat ``coverage``): they read as one page type named :data:`ALL_PAGES`.

>>> stats = {"coverage/post/items": 4, "coverage/post/filled/title": 4,
...          "coverage/list/items": 4, "coverage/list/filled/next": 2}
>>> page_coverage(stats)["post"]
{'items': 4, 'item_type': None, 'fields': {'title': 1.0}}
>>> page_coverage({"stats": {"coverage/title": 1.0, "coverage/price": 0.5}})
{'*': {'items': None, 'item_type': None, 'fields': {'price': 0.5, 'title': 1.0}}}
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter, is_item
from scrapy import signals

from crawler.core.sites import site_of
from crawler.core.switches import off
from crawler.runs.figures import stats_of
from crawler.store import is_empty, item_dead_lettered

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PREFIX = "coverage/"
MAX_REASONS = 20  # distinct dead-letter reasons kept per page type; the rest are "other"
ALL_PAGES = "*"  # the page type old records' flat shares read as


class FieldCoverage:
    """Counts of one crawl; in a crawl of many sites, also one of these per site, counting
    into the site's own stats (``stats``; ``spider``: the site's rule spider)."""

    def __init__(self, crawler: Crawler, stats: Any = None, spider: Any = None) -> None:
        self.crawler = crawler
        self.stats = crawler.stats if stats is None else stats
        self.spider = spider
        self.sites: dict[str, FieldCoverage] = {}
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

    def site(self, item: Any) -> FieldCoverage | None:
        """The counts of ``item``'s site, in a crawl of many sites; else None."""
        spider = self.crawler.spider
        site = site_of(spider, item) if hasattr(spider, "site_stats") else spider
        if site is spider:
            return None
        counts = self.sites.get(site.name)
        if counts is None:
            stats = spider.site_stats[site.name].own()
            counts = self.sites[site.name] = FieldCoverage(self.crawler, stats, site)
        return counts

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        if self.spider is None:
            site = self.site(item)
            if site is not None:
                site.item_scraped(item)
        if isinstance(item, dict):  # a rule's items: no adapter needed to read a dict
            adapter: Any = item
            names = item.keys()
        elif is_item(item):
            adapter = ItemAdapter(item)
            names = adapter.field_names()
        else:
            return
        page = _page(adapter.get("_page"))
        if page not in self.items:
            item_type = item_type_of(self.spider or self.crawler.spider, page)
            if item_type:
                self.stats.set_value(f"{PREFIX}{page}/item_type", item_type)
        self.items[page] += 1
        self.stats.inc_value(f"{PREFIX}{page}/items")
        known = self.fields[page]
        for name in names:
            if name.startswith("_"):
                continue
            if name not in known:
                known.add(name)
                self.stats.set_value(f"{PREFIX}{page}/filled/{name}", 0)
            if filled(adapter.get(name)):
                self.stats.inc_value(f"{PREFIX}{page}/filled/{name}")

    def item_dead_lettered(self, item: Any, page: str, kind: str, reason: str, **kw: Any) -> None:
        if self.spider is None:
            site = self.site(item)
            if site is not None:
                site.item_dead_lettered(item, page, kind, reason)
        page = _page(page)
        self.dead[page] += 1
        reasons = self.reasons[page]
        reasons[reason if reason in reasons or len(reasons) < MAX_REASONS else "other"] += 1

    def spider_closed(self, spider: Any, reason: str) -> None:
        """The shares; a warning per field empty everywhere (per site, in a crawl of many)."""
        for _, site in sorted(self.sites.items()):
            site.spider_closed(site.spider, reason)
        self.finish(spider, warn=not self.sites)

    def finish(self, spider: Any, warn: bool) -> None:
        for page, count in sorted(self.items.items()):
            empty = []
            for name in sorted(self.fields[page]):
                filled = self.stats.get_value(f"{PREFIX}{page}/filled/{name}", 0)
                self.stats.set_value(f"{PREFIX}{page}/share/{name}", round(filled / count, 4))
                if filled == 0:
                    empty.append(name)
            if not warn:
                continue
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


def filled(value: Any) -> bool:
    """Whether a field is filled: not None, not blank, not an empty list, and not a list of file
    records that are all errors (a files field whose every file was refused or failed:
    crawler/files).

    >>> filled([{"url": "u", "error": "http_404"}]), filled([{"url": "u", "sha256": "ab"}])
    (False, True)
    """
    if is_empty(value):
        return False
    if not isinstance(value, list):
        return True
    return not all(isinstance(v, dict) and "error" in v and "sha256" not in v for v in value)


def _page(value: Any) -> str:
    return str(value) if value else "-"


def item_type_of(spider: Any, page: str) -> str | None:
    """The item type a rule spider routes ``page``'s items to (its ``routes``: the protocol the
    item pipelines use too); None for other spiders and untyped page types."""
    routes = getattr(spider, "routes", None)
    if not isinstance(routes, Mapping):
        return None
    route = routes.get(page) or routes.get("")
    item_type = getattr(route, "item_type", None)
    name = getattr(item_type, "name", None)
    return name if isinstance(name, str) and name else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _from_stats(stats: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    pages: dict[str, dict[str, Any]] = {}
    filled: dict[str, dict[str, int]] = defaultdict(dict)
    item_types: dict[str, str] = {}
    flat: dict[str, float] = {}
    for key, value in stats.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        parts = key[len(PREFIX) :].split("/", 2)
        if len(parts) == 1 and _number(value):
            flat[parts[0]] = float(value)
        elif len(parts) == 2 and parts[1] == "items" and _number(value):
            pages[parts[0]] = {"items": int(value), "item_type": None, "fields": {}}
        elif len(parts) == 2 and parts[1] == "item_type" and isinstance(value, str):
            item_types[parts[0]] = value
        elif len(parts) == 3 and parts[1] == "filled" and _number(value):
            filled[parts[0]][parts[2]] = int(value)
    for page, entry in pages.items():
        entry["item_type"] = item_types.get(page)
        if entry["items"]:
            counts = filled.get(page, {})
            entry["fields"] = {f: round(counts[f] / entry["items"], 4) for f in sorted(counts)}
    if flat and not pages:
        return {ALL_PAGES: _flat(flat)}
    return dict(sorted(pages.items()))


def _flat(shares: Mapping[str, Any]) -> dict[str, Any]:
    fields = {str(k): float(v) for k, v in sorted(shares.items()) if _number(v)}
    return {"items": None, "item_type": None, "fields": fields}


def page_coverage(source: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{page type: {"items": N, "item_type": name or None, "fields": {field: share}}}``
    from a crawl's stats or a run record (its stats first, else its ``coverage``, per page type
    or flat); ``{}`` when nothing was counted."""
    stats = stats_of(source)
    if stats is not None:
        found = _from_stats(stats)
        if found or stats is source:
            return found
    kept = source.get("coverage")
    if not isinstance(kept, Mapping) or not kept:
        return {}
    if all(_number(v) for v in kept.values()):
        return {ALL_PAGES: _flat(kept)}
    return {
        str(page): _kept(entry)
        for page, entry in sorted(kept.items())
        if isinstance(entry, Mapping) and isinstance(entry.get("fields"), Mapping)
    }


def _kept(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One page type of a record's own ``coverage`` (older ones lack ``item_type``)."""
    items, item_type = entry.get("items"), entry.get("item_type")
    fields = entry["fields"]
    return {
        "items": int(items) if _number(items) else None,
        "item_type": item_type if isinstance(item_type, str) else None,
        "fields": {str(f): float(s) for f, s in sorted(fields.items()) if _number(s)},
    }


def item_type_coverage(pages: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per item type, from :func:`page_coverage`: ``{"items": N, "page_types": [...],
    "fields": {field: share}}``, each field's share over the items of the page types that
    have the field (page types without an item type are left out).

    >>> item_type_coverage({"a": {"items": 3, "item_type": "book", "fields": {"t": 1.0}},
    ...                     "b": {"items": 1, "item_type": "book", "fields": {"t": 0.0, "x": 1.0}}})
    {'book': {'items': 4, 'page_types': ['a', 'b'], 'fields': {'t': 0.75, 'x': 1.0}}}
    """
    out: dict[str, dict[str, Any]] = {}
    filled: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for page, entry in sorted(pages.items()):
        name, items = entry.get("item_type"), entry.get("items")
        if not name or not isinstance(items, int):
            continue
        group = out.setdefault(name, {"items": 0, "page_types": [], "fields": {}})
        group["items"] += items
        group["page_types"].append(page)
        for field_name, share in entry.get("fields", {}).items():
            filled[name][field_name] += share * items
            seen[name][field_name] += items
    for name, group in out.items():
        group["fields"] = {
            f: round(filled[name][f] / seen[name][f], 4) if seen[name][f] else 0.0
            for f in sorted(seen[name])
        }
    return out
