"""A page type compiled once, run on one response: items, follows and problems.

:class:`CompiledRule` is shared by the crawl, ``scrapy preview``, ``scrapy parse`` and
``scrapy rules test``, so what a preview shows is what a crawl does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from scrapy.http import Response

from cleaners.registry import CleanContext
from crawler.rules.expressions import css_to_xpath
from crawler.rules.model import PageType, Rule
from crawler.rules.request_specs import guess_page
from crawler.spider.drafting import guess_list
from crawler.spider.extract.fields import CompiledField
from crawler.spider.extract.found import Found
from crawler.spider.extract.generic import extract_generic
from crawler.spider.extract.inputs import EMPTY_VALUES, ExtractError, PageInput, Scope
from crawler.spider.extract.links import CompiledLinks, CompiledPagination, Follow
from crawler.spider.extract.selectors import compile_selector

# Compiled fields and links, by the spec they were compiled from (its identity): the rows of a
# site table share their template's specs (crawler.rules.compiler.share_sections), and so, here,
# what is compiled from them. They hold no state of a crawl; plugin extractors are not shared.
_SHARED: OrderedDict[tuple[int, int], tuple[Any, Any]] = OrderedDict()
SHARED_MAX = 4096


def _shared(spec: Any, extra: int, build: Callable[[], Any]) -> Any:
    key = (id(spec), extra)
    hit = _SHARED.get(key)
    if hit is not None and hit[0] is spec:  # the spec is kept alive: its id is not reused
        _SHARED.move_to_end(key)
        return hit[1]
    value = _SHARED[key] = (spec, build())
    if len(_SHARED) > SHARED_MAX:
        _SHARED.popitem(last=False)
    return value[1]


def _field(spec: Any) -> CompiledField:
    if spec.extractor is not None:
        return CompiledField(spec)
    return _shared(spec, -1, lambda: CompiledField(spec))


def _links(spec: Any, priority: int) -> CompiledLinks:
    return _shared(spec, priority, lambda: CompiledLinks(spec, priority))


@dataclass
class PageResult:
    items: list[dict] = field(default_factory=list)
    follows: list[Follow] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (reason, message)
    followed: set[str] = field(default_factory=set, repr=False)  # link URLs already in follows
    # what each link selector, the rows and the pagination found, by their place in the page
    # type: links[0], rows, rows.links[0], pagination
    found: dict[str, Found] = field(default_factory=dict, repr=False)


class CompiledPage:
    def __init__(self, rule: Rule, page: PageType, args: dict):
        self.rule = rule
        self.page = page
        self.fields = [_field(f) for f in page.fields]
        self.links = [_links(spec, rule.pages[spec.to].priority) for spec in page.links]
        self.rows = None
        self.row_fields: list[CompiledField] = []
        self.row_links: list[CompiledLinks] = []
        if page.rows is not None:
            self.rows = compile_selector(page.rows.selector, elements=True)
            self.row_fields = [_field(f) for f in page.rows.fields]
            self.row_links = [_links(s, rule.pages[s.to].priority) for s in page.rows.links]
        self.pagination = (
            CompiledPagination(page.pagination, page, args) if page.pagination else None
        )
        # where each one's finds are counted (PageResult.found)
        self.link_places = [f"links[{i}]" for i in range(len(self.links))]
        self.row_link_places = [f"rows.links[{i}]" for i in range(len(self.row_links))]
        self.places = [*self.link_places, *(["rows"] if self.rows is not None else [])]
        self.places += [*self.row_link_places, *(["pagination"] if self.pagination else [])]

    def extract(
        self,
        response: Response,
        *,
        carry: dict | None = None,
        depth: int = 0,
        pageno: int = 1,
        now: datetime | None = None,
    ) -> PageResult:
        result = PageResult()
        now = now or datetime.now(UTC)
        carry = dict(carry or {})
        page = PageInput(response)
        scope = Scope(page)
        ctx = CleanContext(url=response.url, crawl_time=now)
        meta = {
            "_url": response.url,
            "_rule": self.rule.name,
            "_rule_version": self.rule.version,
            "_page": self.page.name,
            "_crawled_at": now.isoformat(timespec="seconds"),
        }
        found = result.found
        found.update((place, Found()) for place in self.places)
        try:
            base = carry
            if self.page.extract in ("article", "product"):
                page.generic = extract_generic(self.page.extract, page)
                # a field the rule writes wins; the others are the page's generic values
                written = {f.name for f in self.fields}
                base = {k: v for k, v in page.generic.items() if k not in written} | carry
            values, item_errors = self._fields(self.fields, scope, ctx, base)
            rows_found = None
            if self.rows is not None:
                rows = self.rows(scope)
                rows_found = found["rows"].matched = found["rows"].kept = len(rows)
                for node in rows:
                    row = _row_scope(page, node)
                    row_values, row_errors = self._fields(self.row_fields, row, ctx, values)
                    if self.page.rows.emit and (self.row_fields or self.fields):
                        result.items.append(_item(row_values, row_errors, meta))
                    for place, links in zip(self.row_link_places, self.row_links, strict=True):
                        self._follow(links, row, page, depth, row_values, result, place)
            elif self.page.emits_items:
                result.items.append(_item(values, item_errors, meta))
            for place, links in zip(self.link_places, self.links, strict=True):
                self._follow(links, scope, page, depth, values, result, place)
            if self.page.extract == "list":
                self._follow_list(page, pageno, result)
            if self.pagination is not None:
                result.follows.extend(
                    self.pagination.follows(
                        scope, page, pageno, rows_found, carry, found["pagination"]
                    )
                )
        except ExtractError as exc:
            result.problems.append((exc.reason, str(exc)))
        for item in result.items:
            if "_errors" in item:
                result.problems.append(("invalid_item", "; ".join(item["_errors"])))
        return result

    @staticmethod
    def _fields(
        fields: list[CompiledField], scope: Scope, ctx: CleanContext, base: dict
    ) -> tuple[dict, list]:
        values = dict(base)
        errors: list[str] = []
        raw: dict = {}
        clean_errors: dict = {}
        for compiled in fields:
            outcome = compiled(scope, ctx)
            if outcome.value not in EMPTY_VALUES or compiled.name not in values:
                values[compiled.name] = outcome.value
            if outcome.clean_error:
                raw[compiled.name] = outcome.raw
                clean_errors[compiled.name] = outcome.clean_error
            if outcome.error:
                errors.append(f"{compiled.name}: {outcome.error}")
            if compiled.spec.files is not None:  # what the files pipeline fetches (crawler/files)
                values["_files"] = {**values.get("_files", {}), compiled.name: files_of(compiled)}
        if raw:
            values["_raw"] = {**values.get("_raw", {}), **raw}
            values["_clean_errors"] = {**values.get("_clean_errors", {}), **clean_errors}
        return values, errors

    def _follow_list(self, page: PageInput, pageno: int, result: PageResult) -> None:
        """``extract: list``: the page's repeated links to ``to``, its next page to this page
        type, found as ``scrapy rules new`` finds them (crawler/spider/drafting.py)."""
        guess = guess_list(page.url, page.root())
        target = self.page.list_to or ""
        priority = self.rule.pages[target].priority if target in self.rule.pages else 0
        if guess.best is None:
            result.problems.append(("list_not_found", f"no repeated links on {page.url}"))
            return
        for url in dict.fromkeys(guess.best.urls):
            if url not in result.followed:
                result.followed.add(url)
                result.follows.append(Follow(url, target, priority))
        if guess.next is not None:
            kind, expression = guess.next
            query = expression if kind == "xpath" else css_to_xpath(expression)
            for node in page.root().xpath(query)[:1]:
                href = (node.get("href") or "").strip() if hasattr(node, "get") else ""
                url = urljoin(page.url, href) if href else ""
                if url and url != page.url and url not in result.followed:
                    result.followed.add(url)
                    result.follows.append(
                        Follow(url, self.page.name, self.page.priority, {}, pageno + 1)
                    )

    def _follow(
        self,
        links: CompiledLinks,
        scope: Scope,
        page: PageInput,
        depth: int,
        values: dict,
        result: PageResult,
        place: str,
    ) -> None:
        carry_spec = links.spec.carry
        if carry_spec is True:
            carry = {k: v for k, v in values.items() if not k.startswith("_")}
        elif carry_spec:
            carry = {k: values.get(k) for k in carry_spec}
        else:
            carry = {}
        # one set for the whole page: rebuilding it per row made large lists quadratic
        for url in links.urls(scope, page, depth, result.found[place]):
            if url not in result.followed:
                result.followed.add(url)
                result.follows.append(Follow(url, links.spec.to, links.priority, carry))


def files_of(compiled: CompiledField) -> dict:
    """The policy a files field's item carries to the files pipeline (``_files``)."""
    return compiled.spec.files.policy() if compiled.spec.files is not None else {}


def _row_scope(page: PageInput, node: Any) -> Scope:
    if isinstance(node, etree._Element):
        return Scope(page, node=node)
    if isinstance(node, str):
        return Scope(page, node=None, text=node)
    return Scope(page, node=None, data=node)


def _item(values: dict, errors: list[str], meta: dict) -> dict:
    item = dict(values)
    item.update(meta)
    if errors:
        item["_errors"] = errors
    return item


class CompiledRule:
    """Every page type of a rule, compiled once."""

    def __init__(self, rule: Rule, args: dict | None = None):
        self.rule = rule
        self.args = {**rule.args, **(args or {})}
        self.pages = {
            name: CompiledPage(rule, page, self.args) for name, page in rule.pages.items()
        }

    def extract(self, page: str, response: Response, **kwargs: Any) -> PageResult:
        return self.pages[page].extract(response, **kwargs)

    def guess_page(self, url: str) -> str | None:
        """The page type whose ``match`` fits ``url``, else the page a start URL lands on."""
        return guess_page(self.rule, url, self.args)


def plain_items(items: Iterable[dict]) -> list[dict]:
    """Items without the metadata that changes on every crawl or every edit of the rule (for
    fixtures and comparisons)."""
    return [{k: v for k, v in item.items() if k not in VOLATILE} for item in items]


VOLATILE = ("_crawled_at", "_rule_version")
