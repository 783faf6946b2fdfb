"""What selectors run against: a response parsed lazily (:class:`PageInput`) and the page or one
row of it (:class:`Scope`), and the error a page that cannot be read raises."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from scrapy.http import Response, TextResponse

from crawler.rules.model import MISSING
from crawler.spider.extract.pagetree import page_root

EMPTY_VALUES = (None, "", [], {})  # what counts as "nothing found"
# A rendered page's captured XHR/fetch JSON (crawler.render): when present, it is the page's JSON.
META_RENDER_JSON = "render_json"


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
    def page(self) -> PageInput:
        return self._page

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
                self._text = node_html(self._node)
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
        self.generic: dict[str, Any] | None = None  # extract: article/product, when asked for

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
            request = self.response.request
            captured = request.meta.get(META_RENDER_JSON, MISSING) if request else MISSING
            if captured is not MISSING:
                self._json = captured
                return captured
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


def node_html(node: Any) -> str:
    if isinstance(node, str):
        return node
    return etree.tostring(node, method="html", encoding="unicode", with_tail=False)


def node_text(node: Any) -> str:
    if isinstance(node, str):
        return node
    # The same text as "".join(node.itertext()), serialised by libxml2 in one call: itertext
    # makes a Python proxy for every element (lxml.html's class lookup each time), 4x slower
    # on a long article.
    return etree.tostring(node, method="text", encoding="unicode", with_tail=False)
