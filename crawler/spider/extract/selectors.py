"""Selectors compiled once per rule into plain functions ``scope -> values``: lxml's compiled
XPath (CSS translated to XPath once), JMESPath, regular expressions, and plugin extractors."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jmespath
from lxml import etree

from crawler.rules.expressions import XPATH_NAMESPACES, css_to_xpath
from crawler.rules.model import Selector
from crawler.spider.extract.inputs import Scope, node_html, node_text

Values = list[Any]


def _regex_value(match: re.Match) -> str:
    if "extract" in match.re.groupindex:
        return match.group("extract")
    return match.group(1) if match.re.groups else match.group(0)


@functools.lru_cache(maxsize=4096)
def _shared_xpath(query: str) -> etree.XPath:
    """One compiled evaluator per query, shared: a thousand sites of one template hold their
    selectors once (about 80 KiB of libxml2 state each), not a thousand times. lxml serializes
    the calls of one evaluator (its own lock), so sharing one is safe on any thread."""
    return etree.XPath(query, smart_strings=False)


def compile_xpath(query: str) -> Callable[[Any], Any]:
    """``query`` compiled once, as a function of a node.

    The EXSLT namespaces (``re:``, ``set:``) are registered only for a query that uses them:
    with lxml 6.2 and libxml2 2.14, every evaluation of an ``etree.XPath`` that has namespaces
    registered logs a spurious ``XPATH:ERR_NO_MEMORY`` entry, which the evaluator keeps for as
    long as it lives (no API clears it): a selector used on every page grew by one entry per page,
    about 15 MiB over 5,000 pages of ten fields (tests/crawler/spider/test_extract.py pins it).
    A query that uses them is evaluated through a new evaluator each time, as parsel does.
    """
    namespaces = {prefix: uri for prefix, uri in XPATH_NAMESPACES.items() if f"{prefix}:" in query}
    if not namespaces:
        return _shared_xpath(query)

    def evaluate(node: Any) -> Any:
        return node.xpath(query, namespaces=namespaces, smart_strings=False)

    return evaluate


def compile_selector(
    sel: Selector, *, text: bool = False, elements: bool = False
) -> Callable[[Scope], Values]:
    """A function ``scope -> values``. ``elements=True`` keeps lxml elements (for rows and links)."""
    kind = sel.kind
    post = re.compile(sel.regex) if sel.regex is not None and kind != "regex" else None
    convert = node_text if text else node_html

    if kind in ("xpath", "css"):
        query = sel.xpath if kind == "xpath" else css_to_xpath(sel.css)
        xpath = compile_xpath(query)

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


def plugin_extractor(name: str, args: dict) -> Callable[[Scope], Values]:
    from crawler.core.plugins import get_extractor

    fn = get_extractor(name)

    def find(scope: Scope) -> Values:
        result = fn(scope, **args)
        if result is None:
            return []
        return result if isinstance(result, list) else [result]

    return find
