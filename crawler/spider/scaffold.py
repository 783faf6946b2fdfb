"""A first rule from a fetched list page and a few of its detail pages (``scrapy rules new NAME
URL``): decided by :mod:`.drafting`, commented, valid, crawling without edits.

The list page's best group of links leads to the detail page type (``allow:`` and ``match:``
from their URL shape), its next page is followed, and the detail pages use generic extraction
(``extract: article``, or ``product`` when the sampled pages describe products), so the draft
yields items before anyone writes a selector. A page with no group of links is one detail page
type. :func:`rule_yaml` returns the text and the decisions, each with its reason.

>>> html = '''<html><head><title>Books</title></head><body><h1>Travel</h1>
... <article class="book"><h3><a href="/book/1.html">A first title</a></h3></article>
... <article class="book"><h3><a href="/book/2.html">A second title</a></h3></article>
... <article class="book"><h3><a href="/book/3.html">A third title</a></h3></article>
... <ul><li class="next"><a href="page/2/">next</a></li></ul></body></html>'''
>>> url = "http://shop.test/tag/travel/"
>>> text, decisions = rule_yaml("shop", url, draft_list(url, html))
>>> for line in decisions: print(line)
links: css article.book h3 a, allow ^https?://[^/]+/book/\\d+\\.html(\\?.*)?$ (3 links like /book/1.html, anchor text 13 chars)
next page: css li.next a (a link whose text says next ('next'))
detail pages: extract: article (0 of 0 sampled pages read as articles)
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from lxml import html as lxml_html

from crawler.spider.drafting import ListGuess, detail_kind, guess_list


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


# pages of a list, not details, whatever the shape of the details' URLs
NOT_DETAILS = r"/(page|tags?|categor(y|ies)|archives?|authors?|search)(/|$)|[?&]page="


def title_field(selector: str) -> str:
    css = selector if "::" in selector else f"{selector}::text"
    return f"{{css: {_q(css)}, required: true, clean: [collapse_whitespace]}}"


def parse_html(text: str) -> object:
    try:
        return lxml_html.fromstring(text or "<html></html>")
    except (ValueError, lxml_html.etree.ParserError):
        return lxml_html.fromstring("<html></html>")


def draft_list(url: str, text: str) -> ListGuess:
    """What the list page at ``url`` is read as (drafting.guess_list), once for the draft."""
    return guess_list(url, parse_html(text))


def detail_links(guess: ListGuess, limit: int = 3) -> list[str]:
    """The first detail pages the list page leads to (to sample them), as linked."""
    return list(dict.fromkeys(guess.best.urls))[:limit] if guess.best is not None else []


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def rule_yaml(
    name: str, url: str, guess: ListGuess, samples: list[str] | None = None
) -> tuple[str, list[str]]:
    """The text of a first rule for the list page at ``url`` read as ``guess`` (``samples``:
    texts of detail pages it leads to), and the decisions taken, each with its reason."""
    site = _origin(url)
    start = url[len(site) :] or "/"
    kind, kind_why = detail_kind(samples or [])
    decisions = []
    lines = [
        "# yaml-language-server: $schema=./rule.schema.json",
        f"# A first rule for {site}, written by `scrapy rules new` from {url}.",
        f"# Check it with `scrapy validate {name}`, try it with `scrapy preview {name} URL`;",
        "# a field you write under the detail page type wins over the generic one.",
        f"name: {name}",
        "description: TODO say what this rule collects",
        "args:",
        f"  site: {_q(site)}",
        "start:",
        f"  - url: {_q('{site}' + start.replace('{', '{{').replace('}', '}}'))}",
        f"    page: {'listing' if guess.best else 'detail'}",
        "pages:",
    ]
    best = guess.best
    if best is not None:
        decisions.append(f"links: css {best.selector}, allow {best.pattern} ({best.why})")
        if guess.runner_up is not None:
            runner = guess.runner_up
            decisions.append(
                f"rejected: css {runner.selector} ({runner.why}; score {runner.score} "
                f"against {best.score})"
            )
        lines += [
            "  listing:                 # the page you gave: its repeated links lead to details",
            "    links:",
            f"      - css: {_q(best.selector)}",
            f"        allow: [{_q(best.pattern)}]",
            "        to: detail",
        ]
        lines += [
            "      - css: a                # any other link of that shape (widgets, menus)",
            f"        allow: [{_q(best.pattern)}]",
            f"        deny: [{_q(NOT_DETAILS)}]",
            "        to: detail",
        ]
    decisions.append(
        f"next page: {guess.next[0]} {guess.next[1]} ({guess.next_why})"
        if guess.next
        else f"next page: none ({guess.next_why})"
    )
    if guess.next:
        lines += ["    pagination:", f"      next: {{{guess.next[0]}: {_q(guess.next[1])}}}"]
    if best is not None:
        lines += ["  detail:", f"    match: {_q(best.pattern)}"]
    else:
        lines += ["  detail:                  # the page you gave: no group of links found"]
    lines += [f"    extract: {kind}"]
    decisions.append(f"detail pages: extract: {kind} ({kind_why})")
    return "\n".join(lines) + "\n", decisions
