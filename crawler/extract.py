"""Compiled extraction: a rule's selectors, fields, links and pagination, run on one response.

Each selector compiles once per rule into a plain function; lxml's compiled XPath (CSS is
translated to XPath once) is reused across pages. :func:`extract_page` is shared by the crawl,
``scrapy preview`` and ``scrapy rules test``, so what a preview shows is what a crawl does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

import jmespath
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from scrapy.http import Response, TextResponse

from cleaners.registry import REGISTRY, CleanContext, CleanError
from crawler.pagetree import page_root
from crawler.rules import templates
from crawler.rules.load import XPATH_NAMESPACES
from crawler.rules.model import MISSING, FieldSpec, LinkSpec, PageType, Pagination, Rule, Selector

Values = list[Any]
_css = HTMLTranslator()
EMPTY_VALUES = (None, "", [], {})  # what counts as "nothing found"


class ExtractError(ValueError):
    """A page that cannot be read as the rule expects; ``reason`` is a short stat key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Scope:
    """What selectors run against: the page or one row of it."""

    __slots__ = ("_node", "_data", "_text", "_page")

    def __init__(
        self, page: PageInput, node: Any = MISSING, data: Any = MISSING, text: str | None = None
    ):
        self._page = page
        self._node = node
        self._data = data
        self._text = text

    @property
    def node(self) -> Any:
        if self._node is MISSING:
            self._node = self._page.root()
        return self._node

    @property
    def data(self) -> Any:
        if self._data is MISSING:
            self._data = self._page.json()
        return self._data

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def response(self) -> Response:
        return self._page.response

    @property
    def text(self) -> str:
        if self._text is None:
            if self._node is not MISSING and self._node is not self._page.root_or_none():
                self._text = _node_html(self._node)
            elif self._data is not MISSING and self._data is not self._page.json_or_none():
                self._text = json.dumps(self._data, ensure_ascii=False)
            else:
                self._text = self._page.text
        return self._text


class PageInput:
    """One response, parsed lazily: as HTML only if an HTML selector runs, as JSON only if a JSON one does."""

    def __init__(self, response: Response):
        self.response = response
        self.url = response.url
        self._root: Any = MISSING
        self._json: Any = MISSING

    @property
    def text(self) -> str:
        if not isinstance(self.response, TextResponse):
            raise ExtractError(
                "not_text", f"response is not text ({self.response.headers.get('Content-Type')!r})"
            )
        return self.response.text

    def root(self) -> Any:
        if self._root is MISSING:
            if not isinstance(self.response, TextResponse):
                raise ExtractError("not_text", "response is not text, cannot run XPath/CSS on it")
            # Not response.selector (a reference cycle; see pagetree): freed when extraction ends.
            self._root = page_root(self.response)
        return self._root

    def root_or_none(self) -> Any:
        return None if self._root is MISSING else self._root

    def json(self) -> Any:
        if self._json is MISSING:
            try:
                self._json = json.loads(self.text)
            except ValueError as exc:
                raise ExtractError("not_json", f"response is not JSON: {exc}") from None
        return self._json

    def json_or_none(self) -> Any:
        return None if self._json is MISSING else self._json

    def urljoin(self, url: str) -> str:
        if isinstance(self.response, TextResponse) and self._root is not MISSING:
            return self.response.urljoin(url)  # honours <base href>
        return urljoin(self.url, url)


# --- selectors -------------------------------------------------------------------------------


def _node_html(node: Any) -> str:
    if isinstance(node, str):
        return node
    return etree.tostring(node, method="html", encoding="unicode", with_tail=False)


def _node_text(node: Any) -> str:
    if isinstance(node, str):
        return node
    # The same text as "".join(node.itertext()), serialised by libxml2 in one call: itertext
    # makes a Python proxy for every element (lxml.html's class lookup each time), 4x slower
    # on a long article.
    return etree.tostring(node, method="text", encoding="unicode", with_tail=False)


def _regex_value(match: re.Match) -> str:
    if "extract" in match.re.groupindex:
        return match.group("extract")
    return match.group(1) if match.re.groups else match.group(0)


def compile_selector(
    sel: Selector, *, text: bool = False, elements: bool = False
) -> Callable[[Scope], Values]:
    """A function ``scope -> values``. ``elements=True`` keeps lxml elements (for rows and links)."""
    kind = sel.kind
    post = re.compile(sel.regex) if sel.regex is not None and kind != "regex" else None
    convert = _node_text if text else _node_html

    if kind in ("xpath", "css"):
        query = sel.xpath if kind == "xpath" else _css.css_to_xpath(sel.css)
        xpath = etree.XPath(query, namespaces=XPATH_NAMESPACES, smart_strings=False)

        def find(scope: Scope) -> Values:
            node = scope.node
            if node is None:
                return []
            result = xpath(node)
            if not isinstance(result, list):
                result = [] if result is None else [result]
            if elements:
                return result
            return [v if isinstance(v, (str, float, bool)) else convert(v) for v in result]

    elif kind == "json":
        expression = jmespath.compile(sel.json)

        def find(scope: Scope) -> Values:
            result = expression.search(scope.data)
            if result is None:
                return []
            return result if isinstance(result, list) else [result]

    elif kind == "regex":
        pattern = re.compile(sel.regex)

        def find(scope: Scope) -> Values:
            return [_regex_value(m) for m in pattern.finditer(scope.text)]

    else:  # no selector: the scope's own text

        def find(scope: Scope) -> Values:
            return [scope.text]

    if post is None or elements:
        return find

    def find_then_match(scope: Scope) -> Values:
        out: Values = []
        for value in find(scope):
            if value is None:
                continue
            out.extend(
                _regex_value(m)
                for m in post.finditer(value if isinstance(value, str) else str(value))
            )
        return out

    return find_then_match


def _plugin(name: str, args: dict) -> Callable[[Scope], Values]:
    from crawler.plugins import get_extractor

    fn = get_extractor(name)

    def find(scope: Scope) -> Values:
        result = fn(scope, **args)
        if result is None:
            return []
        return result if isinstance(result, list) else [result]

    return find


# --- fields ----------------------------------------------------------------------------------


@dataclass
class FieldOutcome:
    value: Any
    raw: Any = MISSING  # kept when a cleaner failed
    clean_error: str | None = None
    error: str | None = None  # the item is invalid (required field empty)


class CompiledField:
    __slots__ = ("name", "spec", "find", "chain")

    def __init__(self, spec: FieldSpec):
        self.name = spec.name
        self.spec = spec
        if spec.extractor is not None:
            self.find = _plugin(spec.extractor, dict(spec.args))
        elif spec.value is not MISSING:
            self.find = None
        else:
            self.find = compile_selector(spec.selector, text=spec.text)
        self.chain = REGISTRY.compile(spec.clean) if spec.clean is not None else None

    def __call__(self, scope: Scope, ctx: CleanContext) -> FieldOutcome:
        spec = self.spec
        if self.find is None:
            value = spec.value
        else:
            values = self.find(scope)
            value = values if spec.all else (values[0] if values else None)
        outcome = FieldOutcome(value)
        if self.chain is not None and value not in EMPTY_VALUES:
            try:
                outcome.value = self.chain(value, ctx)
            except CleanError as exc:
                outcome.raw, outcome.value, outcome.clean_error = value, None, str(exc)
        if outcome.value in EMPTY_VALUES and spec.default is not None:
            outcome.value = spec.default
        if spec.required and outcome.value in EMPTY_VALUES:
            outcome.error = "required field is empty" + (
                f" ({outcome.clean_error})" if outcome.clean_error else ""
            )
        return outcome


# --- links and pagination ----------------------------------------------------------------------


@dataclass(frozen=True)
class Follow:
    """A request to make: the crawl turns it into a scrapy Request."""

    url: str
    page: str
    priority: int = 0
    carry: dict = field(default_factory=dict)
    pageno: int = 1  # position in a pagination sequence (1 = not paginated or first page)


_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:")


def _link_url(value: Any) -> str | None:
    if isinstance(value, str):
        url = value
    elif hasattr(value, "get"):  # an element: <a href>, <link href>, <area href>, <img src>, ...
        url = value.get("href") or value.get("src") or ""
    else:
        url = str(value)
    url = url.strip()
    if not url or url.startswith("#") or url.lower().startswith(_SKIP_SCHEMES):
        return None
    return url


class CompiledLinks:
    def __init__(self, spec: LinkSpec, default_priority: int):
        self.spec = spec
        sel = spec.selector
        # <a> elements give their href; with a regex, the regex reads the matched values instead
        self.find = compile_selector(
            sel, elements=sel.kind in ("xpath", "css") and sel.regex is None
        )
        self.allow = [re.compile(p) for p in spec.allow]
        self.deny = [re.compile(p) for p in spec.deny]
        self.priority = spec.priority if spec.priority is not None else default_priority

    def urls(self, scope: Scope, page: PageInput, depth: int) -> list[str]:
        if self.spec.max_depth is not None and depth + 1 > self.spec.max_depth:
            return []
        out = []
        for value in self.find(scope):
            raw = _link_url(value)
            if raw is None:
                continue
            url = urldefrag(page.urljoin(raw))[0]
            if not url.startswith(("http://", "https://")):
                continue
            if self.allow and not any(p.search(url) for p in self.allow):
                continue
            if any(p.search(url) for p in self.deny):
                continue
            out.append(url)
        return out


def _set_param(url: str, name: str, value: Any) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _get_param(url: str, name: str) -> str | None:
    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if k == name:
            return v
    return None


def _to_int(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = re.search(r"\d[\d,]*", str(value or ""))
    return int(match.group(0).replace(",", "")) if match else None


class CompiledPagination:
    def __init__(self, spec: Pagination, page: PageType, args: dict):
        self.spec = spec
        self.page = page
        self.args = args
        self.next = (
            compile_selector(
                spec.next, elements=spec.next.kind in ("xpath", "css") and spec.next.regex is None
            )
            if spec.next
            else None
        )
        self.count = compile_selector(spec.count) if isinstance(spec.count, Selector) else None
        self.cursor = compile_selector(spec.cursor) if spec.cursor else None
        self.until_empty = (
            compile_selector(spec.until_empty, elements=True) if spec.until_empty else None
        )

    def follows(
        self, scope: Scope, page: PageInput, pageno: int, rows_found: int | None, carry: dict
    ) -> list[Follow]:
        spec = self.spec
        if spec.max_pages is not None and pageno >= spec.max_pages:
            return []
        target = self.page.name

        def follow(url: str, n: int) -> Follow:
            return Follow(url, target, self.page.priority, carry, n)

        if spec.style == "next":
            for value in self.next(scope):
                raw = _link_url(value)
                if raw:
                    return [follow(urldefrag(page.urljoin(raw))[0], pageno + 1)]
            return []
        if spec.style == "pages":
            if pageno != 1:
                return []  # every page URL is generated from the first page
            if self.count is not None:
                found = self.count(scope)
                count = _to_int(found[0]) if found else None
                if count is None:
                    raise ExtractError(
                        "pagination_count", "pagination: page count not found on the first page"
                    )
            else:
                count = spec.count
            last = count if spec.max_pages is None else min(count, spec.start + spec.max_pages - 2)
            values = {**self.args, "url": page.url}
            out = []
            for n in range(spec.start, last + 1):
                url = templates.substitute(spec.template, {**values, "page": n})
                out.append(follow(page.urljoin(url), pageno + n - spec.start + 1))
            return out
        if spec.style == "offset":
            empty = (
                (not self.until_empty(scope)) if self.until_empty is not None else not rows_found
            )
            if empty:
                return []
            current = _to_int(_get_param(page.url, spec.param))
            current = spec.start if current is None else current
            return [follow(_set_param(page.url, spec.param, current + spec.step), pageno + 1)]
        if spec.style == "cursor":
            found = [v for v in self.cursor(scope) if v not in EMPTY_VALUES]
            if not found:
                return []
            return [follow(_set_param(page.url, spec.param, found[0]), pageno + 1)]
        return []


# --- pages -----------------------------------------------------------------------------------


@dataclass
class PageResult:
    items: list[dict] = field(default_factory=list)
    follows: list[Follow] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (reason, message)
    followed: set[str] = field(default_factory=set, repr=False)  # link URLs already in follows


class CompiledPage:
    def __init__(self, rule: Rule, page: PageType, args: dict):
        self.rule = rule
        self.page = page
        self.fields = [CompiledField(f) for f in page.fields]
        self.links = [CompiledLinks(spec, rule.pages[spec.to].priority) for spec in page.links]
        self.rows = None
        self.row_fields: list[CompiledField] = []
        self.row_links: list[CompiledLinks] = []
        if page.rows is not None:
            self.rows = compile_selector(page.rows.selector, elements=True)
            self.row_fields = [CompiledField(f) for f in page.rows.fields]
            self.row_links = [CompiledLinks(s, rule.pages[s.to].priority) for s in page.rows.links]
        self.pagination = (
            CompiledPagination(page.pagination, page, args) if page.pagination else None
        )

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
            "_page": self.page.name,
            "_crawled_at": now.isoformat(timespec="seconds"),
        }
        try:
            values, item_errors = self._fields(self.fields, scope, ctx, carry)
            rows_found = None
            if self.rows is not None:
                rows = self.rows(scope)
                rows_found = len(rows)
                for node in rows:
                    row = _row_scope(page, node)
                    row_values, row_errors = self._fields(self.row_fields, row, ctx, values)
                    if self.page.rows.emit and (self.row_fields or self.fields):
                        result.items.append(_item(row_values, row_errors, meta))
                    for links in self.row_links:
                        self._follow(links, row, page, depth, row_values, result)
            elif self.page.emit and self.fields:
                result.items.append(_item(values, item_errors, meta))
            for links in self.links:
                self._follow(links, scope, page, depth, values, result)
            if self.pagination is not None:
                result.follows.extend(
                    self.pagination.follows(scope, page, pageno, rows_found, carry)
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
        if raw:
            values["_raw"] = {**values.get("_raw", {}), **raw}
            values["_clean_errors"] = {**values.get("_clean_errors", {}), **clean_errors}
        return values, errors

    def _follow(
        self,
        links: CompiledLinks,
        scope: Scope,
        page: PageInput,
        depth: int,
        values: dict,
        result: PageResult,
    ) -> None:
        carry_spec = links.spec.carry
        if carry_spec is True:
            carry = {k: v for k, v in values.items() if not k.startswith("_")}
        elif carry_spec:
            carry = {k: values.get(k) for k in carry_spec}
        else:
            carry = {}
        # one set for the whole page: rebuilding it per row made large lists quadratic
        for url in links.urls(scope, page, depth):
            if url not in result.followed:
                result.followed.add(url)
                result.follows.append(Follow(url, links.spec.to, links.priority, carry))


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
        """The page type whose ``match`` pattern fits ``url``, else the page a start URL lands on."""
        for name, page in self.rule.pages.items():
            if page.match and re.search(page.match, url):
                return name
        for start in self.rule.start:
            for template in start.urls:
                try:
                    if url in templates.expand(template, {**self.rule.args, **self.args}):
                        return start.page
                except (KeyError, ValueError):
                    continue
        return None


def plain_items(items: Iterable[dict]) -> list[dict]:
    """Items without the metadata that changes on every crawl (for fixtures and comparisons)."""
    return [{k: v for k, v in item.items() if k != "_crawled_at"} for item in items]
