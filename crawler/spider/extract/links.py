"""Links and pagination compiled once: which URLs a page leads to (:class:`Follow`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit, urlunsplit

from crawler.rules import templates
from crawler.rules.model import LinkSpec, PageType, Pagination, Selector
from crawler.spider.extract.found import Found
from crawler.spider.extract.inputs import EMPTY_VALUES, ExtractError, PageInput, Scope
from crawler.spider.extract.selectors import compile_selector


@dataclass(frozen=True)
class Follow:
    """A request to make: the crawl turns it into a scrapy Request."""

    url: str
    page: str
    priority: int = 0
    carry: dict = field(default_factory=dict)
    pageno: int = 1  # position in a pagination sequence (1 = not paginated or first page)


_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:")


def link_url(value: Any) -> str | None:
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

    def urls(self, scope: Scope, page: PageInput, depth: int, found: Found) -> list[str]:
        if self.spec.max_depth is not None and depth + 1 > self.spec.max_depth:
            found.limit = f"max_depth {self.spec.max_depth}"
            return []
        out = []
        values = self.find(scope)
        found.matched += len(values)
        for value in values:
            raw = link_url(value)
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
        found.kept += len(out)
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
        self,
        scope: Scope,
        page: PageInput,
        pageno: int,
        rows_found: int | None,
        carry: dict,
        found: Found,
    ) -> list[Follow]:
        spec = self.spec
        if spec.max_pages is not None and pageno >= spec.max_pages:
            found.limit = f"max_pages {spec.max_pages}"
            return []
        if spec.style == "pages" and pageno != 1:
            found.limit = "every page URL is made on the first page"
            return []
        out = self._follows(scope, page, pageno, rows_found, carry)
        found.matched = found.kept = len(out)
        return out

    def _follows(
        self, scope: Scope, page: PageInput, pageno: int, rows_found: int | None, carry: dict
    ) -> list[Follow]:
        spec = self.spec
        target = self.page.name

        def follow(url: str, n: int) -> Follow:
            return Follow(url, target, self.page.priority, carry, n)

        if spec.style == "next":
            for value in self.next(scope):
                raw = link_url(value)
                if raw:
                    return [follow(urldefrag(page.urljoin(raw))[0], pageno + 1)]
            return []
        if spec.style == "pages":
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
