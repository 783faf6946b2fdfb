"""A first rule from one fetched page (``scrapy rules new NAME URL``): guessed, commented, valid.

The page is read for what a person would otherwise look up by hand: the title (``h1``, else
``og:title``, else ``<title>``), a repeated group of links to pages of one shape (a list page:
they become the detail page type, with a ``match`` pattern from their URLs), and a next-page
link. The result is YAML text to edit, with the schema modeline editors use for completion.

>>> html = '''<html><head><title>Books</title></head><body><h1>Travel</h1>
... <article class="book"><h3><a href="/book/1.html">A</a></h3></article>
... <article class="book"><h3><a href="/book/2.html">B</a></h3></article>
... <article class="book"><h3><a href="/book/3.html">C</a></h3></article>
... <ul><li class="next"><a href="page/2/">next</a></li></ul></body></html>'''
>>> guess = guess_page("http://shop.test/tag/travel/", html)
>>> guess.links, guess.match, guess.next
('article.book h3 a', '/book/[^/]+\\\\.html$', 'li.next a')
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

NEXT_TEXT = re.compile(r"^\s*(next|next page|more|older|下一页|下页|后页|›|»|>|→)\s*$", re.I)
MIN_GROUP = 3  # links of one shape that make a page a list


@dataclass(frozen=True)
class PageGuess:
    title: str | None  # a CSS selector for the page's title
    links: str | None  # a CSS selector for the repeated links of a list page
    match: str | None  # a URL pattern of the pages those links lead to
    next: str | None  # a CSS selector for the next-page link


def _css_step(element) -> str:
    classes = [
        c for c in (element.get("class") or "").split() if re.fullmatch(r"[A-Za-z_][\w-]*", c)
    ]
    return element.tag + (f".{classes[0]}" if classes else "")


def _css_path(element, depth: int = 3) -> str:
    steps = [element.tag]
    parent = element.getparent()
    while parent is not None and len(steps) < depth and parent.tag not in ("body", "html"):
        steps.insert(0, _css_step(parent))
        parent = parent.getparent()
    return " ".join(steps)


def _url_pattern(paths: list[str]) -> str | None:
    """A regex for URL paths of one shape: their common directory, then the last segment's
    shape (``/book/1.html``, ``/book/2.html`` -> ``/book/[^/]+\\.html$``)."""
    split = [p.rstrip("/").rsplit("/", 1) for p in paths if "/" in p.rstrip("/")]
    if len(split) < MIN_GROUP or len({head for head, _ in split}) != 1:
        return None
    head = split[0][0]
    suffixes = {re.search(r"(\.[A-Za-z0-9]+)?$", tail).group(0) for _, tail in split}
    suffix = suffixes.pop() if len(suffixes) == 1 else ""
    slash = "/" if all(p.endswith("/") for p in paths) else ""
    return f"{re.escape(head)}/[^/]+{re.escape(suffix)}{slash}$"


def guess_page(url: str, text: str) -> PageGuess:
    root = lxml_html.fromstring(text or "<html></html>")
    title = None
    if root.xpath("//h1[normalize-space()]"):
        title = "h1"
    elif root.xpath("//meta[@property='og:title']/@content"):
        title = "meta[property='og:title']::attr(content)"
    elif root.xpath("//title[normalize-space()]"):
        title = "title"
    site = urlsplit(url).hostname
    groups: dict[str, list[str]] = defaultdict(list)
    next_link = None
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        target = urlsplit(urljoin(url, href))
        if target.hostname != site:
            continue
        text_of = anchor.text_content()
        if next_link is None and (anchor.get("rel") == "next" or NEXT_TEXT.match(text_of)):
            next_link = "a[rel=next]" if anchor.get("rel") == "next" else _css_path(anchor, 2)
            continue
        groups[_css_path(anchor)].append(target.path)
    best = max(groups.items(), key=lambda kv: len(set(kv[1])), default=(None, []))
    selector, paths = best
    match = _url_pattern(sorted(set(paths))) if len(set(paths)) >= MIN_GROUP else None
    return PageGuess(
        title=title,
        links=selector if match else None,
        match=match,
        next=next_link,
    )


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def title_field(selector: str) -> str:
    css = selector if "::" in selector else f"{selector}::text"
    return f"{{css: {_q(css)}, required: true, clean: [collapse_whitespace]}}"


def rule_yaml(name: str, url: str, text: str) -> str:
    """The text of a first rule for ``url``: a list page type leading to a detail page type
    when the page lists links of one shape, else one detail page type."""
    parts = urlsplit(url)
    site = f"{parts.scheme}://{parts.netloc}"
    start = url[len(site) :] or "/"
    guess = guess_page(url, text)
    lines = [
        "# yaml-language-server: $schema=./rule.schema.json",
        f"# A first rule for {site}, written by `scrapy rules new` from {url}.",
        f"# Check it with `scrapy validate {name}`, try it with",
        f"# `scrapy preview {name} URL`, keep pages as fixtures with --save.",
        f"name: {name}",
        "description: TODO say what this rule collects",
        "args:",
        f"  site: {_q(site)}",
        "start:",
        f"  - url: {_q('{site}' + start.replace('{', '{{').replace('}', '}}'))}",
        f"    page: {'listing' if guess.links else 'detail'}",
        "pages:",
    ]
    if guess.links:
        lines += [
            "  listing:                 # the page you gave: links of one shape lead to details",
            "    links:",
            f"      - css: {_q(guess.links)}",
            "        to: detail",
        ]
        if guess.next:
            lines += ["    pagination:", f"      next: {{css: {_q(guess.next)}}}"]
        lines += [
            "  detail:                  # TODO check the fields on a detail page with preview",
            f"    match: {_q(guess.match)}",
            "    fields:",
            '      title: {css: "h1::text", required: true, clean: [collapse_whitespace]}',
        ]
    else:
        lines += [
            "  detail:                  # TODO add the fields you want from this page",
            "    fields:",
            f"      title: {title_field(guess.title or 'title')}",
        ]
        if guess.next:
            lines += ["    pagination:", f"      next: {{css: {_q(guess.next)}}}"]
    return "\n".join(lines) + "\n"
