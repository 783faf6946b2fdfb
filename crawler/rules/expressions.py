"""Checks of the expressions a rule holds: XPath, CSS, regular expressions and JMESPath.

Each check returns a message a person can act on, or None when the expression compiles. The
runtime compiles the same expressions the same way (:data:`XPATH_NAMESPACES` included), so what
validates here also runs.

>>> xpath_problem("//a/@href") is None
True
>>> xpath_problem("//a[")
"invalid XPath '//a[': Invalid expression"
>>> css_problem("div >")
"invalid CSS selector 'div >': Expected selector, got <EOF at 5>"
>>> jmespath_problem("items[")
"invalid JMESPath 'items[': the expression ends too early"
"""

from __future__ import annotations

import re

import jmespath
import jmespath.exceptions
from lxml import etree
from parsel.csstranslator import HTMLTranslator

XPATH_NAMESPACES = {
    "re": "http://exslt.org/regular-expressions",
    "set": "http://exslt.org/sets",
}

_css_translator = HTMLTranslator()


def css_to_xpath(query: str) -> str:
    """The XPath a CSS selector (with parsel's ``::text`` and ``::attr()``) stands for."""
    return _css_translator.css_to_xpath(query)


_PROBE = etree.fromstring("<html><head/><body><p class='x'>x</p></body></html>")
_KINDS = {float: "a number", str: "a string", bool: "true or false"}


def xpath_problem(query: str, *, nodes: bool = False) -> str | None:
    """Compile ``query`` and run it once on a small page, as the crawl will (some mistakes,
    such as a wrong number of arguments, only show when it runs). ``nodes``: the query must
    select elements or values (rows, links, pagination), not compute a number or a truth."""
    try:
        xpath = etree.XPath(query, namespaces=XPATH_NAMESPACES)
        result = xpath(_PROBE)
    except etree.XPathSyntaxError as exc:
        return f"invalid XPath {query!r}: {exc}"
    except etree.XPathError as exc:
        return f"invalid XPath {query!r}: {exc}"
    if nodes and not isinstance(result, list):
        kind = next((w for t, w in _KINDS.items() if isinstance(result, t)), "a single value")
        return (
            f"XPath {query!r} gives {kind}, not elements: rows, links and pagination need a "
            "selection such as //article or //a/@href"
        )
    return None


def css_problem(query: str) -> str | None:
    try:
        css_to_xpath(query)
    except Exception as exc:  # cssselect raises SelectorSyntaxError or ExpressionError
        return f"invalid CSS selector {query!r}: {exc}"
    return None


def regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None


def jmespath_problem(expression: str) -> str | None:
    try:
        jmespath.compile(expression)
    except jmespath.exceptions.IncompleteExpressionError:
        return f"invalid JMESPath {expression!r}: the expression ends too early"
    except jmespath.exceptions.ParseError as exc:
        return f"invalid JMESPath {expression!r}: {exc.msg} at column {exc.lex_position + 1}"
    except jmespath.exceptions.JMESPathError as exc:
        return f"invalid JMESPath {expression!r}: {str(exc).splitlines()[0]}"
    return None


EXPRESSION_CHECKS = {
    "xpath": xpath_problem,
    "css": css_problem,
    "json": jmespath_problem,
    "regex": regex_problem,
}
