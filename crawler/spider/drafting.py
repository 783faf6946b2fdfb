"""What ``scrapy rules new`` decides from a list page: which links lead to the detail pages, how
to reach the next list page, and whether the details are articles or products; each decision
with its reason, and the runner-up it beat.

**Links.** Every link of the page to the same site is grouped by where it sits (its element and
its two nearest ancestors, as a CSS path) and by the shape of its URL (each path segment a
number or a word, the file suffix: ``/2024/05/29/slug/`` and ``/2023/11/02/other/`` share one
shape). Each group is scored: how many distinct pages it leads to, how long its anchor texts are
(titles are long; tags, menus and page numbers are short), and it loses most of its score when
it sits in navigation, a header, a footer or a sidebar, or when its URLs are taxonomy pages
(``/tags/``, ``/category/``, ``/page/2/``...). The best group becomes the ``links:`` of the list
page type, its CSS path the selector and its URL shape the ``allow:`` pattern (and the detail
page type's ``match:``), so that links of the same place but another shape are not followed.

**Pagination**, in order: ``rel=next``; a link whose text says next (English, Chinese, French,
German, Spanish, arrows); numbered pagination: the link whose number is one more than the page
marked current (``aria-current``, a ``current``/``active`` class), as an XPath that finds it on
every list page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

NEXT_TEXT = re.compile(
    r"^\s*(next|next page|more|older( posts| entries)?|下一页|下页|后页|下一頁|suivant|suivante|"
    r"weiter|nächste|siguiente|›|»|>|→|>>)\s*[›»>→]?\s*$",
    re.I,
)
MIN_GROUP = 3  # links of one shape that make a page a list
# Words in a class or id that say "page furniture": STRONG ones also as a part of a longer name
# (``main-nav``, ``widget_recent_entries``, ``site-footer``); WEAK ones only as a whole name
# (``tags``, not ``archive-post-title``; ``header``, not ``entry-header``).
STRONG = re.compile(
    r"(^|[_-])(nav|navbar|navigation|menu|submenu|footer|sidebar|widget|widgets|breadcrumbs?|"
    r"tagcloud|tag-cloud|pagination|social|share|sharing|copyright|friend-?links?|toc|"
    r"related|comments?|masthead)([_-]|$)",
    re.I,
)
WEAK = frozenset(
    {"header", "aside", "tags", "categories", "category", "archive", "archives", "pager",
     "page-numbers", "meta", "top", "bottom"}
)  # fmt: skip
TAXONOMY = re.compile(
    r"^/(tags?|categor(y|ies)|archives?|page|author|authors|series|topics?|labels?|search)(/|$)"
    r"|^/(19|20)\d\d/((0?[1-9]|1[0-2])/)?$",  # a date archive: a year or a month, no post
    re.I,
)
NUMBERED = (
    "//a[normalize-space(.) = string(number(normalize-space((//*[@aria-current='page' or "
    "contains(@class, 'current') or "
    "contains(concat(' ', normalize-space(@class), ' '), ' active ')]"
    "[string(number(normalize-space(.))) != 'NaN'])[1])) + 1)]"
)


@dataclass
class LinkGroup:
    selector: str  # a CSS path to the links
    shape: tuple[str, ...]
    paths: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # absolute, as linked (queries kept)
    boilerplate: bool = False
    score: float = 0.0
    why: str = ""

    @property
    def pattern(self) -> str:
        return merged_pattern(sorted(set(self.paths)))


@dataclass(frozen=True)
class ListGuess:
    best: LinkGroup | None
    runner_up: LinkGroup | None
    next: tuple[str, str] | None  # (selector kind, expression): css or xpath
    next_why: str


def _classes(element: Any) -> list[str]:
    return [c for c in (element.get("class") or "").split() if re.fullmatch(r"[A-Za-z_][\w-]*", c)]


def _css_step(element: Any) -> str:
    classes = _classes(element)
    return element.tag + (f".{classes[0]}" if classes else "")


def css_path(element: Any, depth: int = 3) -> str:
    steps = [_css_step(element) if element.tag != "a" else "a"]
    parent = element.getparent()
    while parent is not None and len(steps) < depth and parent.tag not in ("body", "html"):
        steps.insert(0, _css_step(parent))
        parent = parent.getparent()
    return " ".join(steps)


def _in_boilerplate(element: Any) -> bool:
    ancestors = []
    node = element.getparent()
    while node is not None and node.tag not in ("body", "html"):
        ancestors.append(node)
        node = node.getparent()
    # an article's own header and footer are content; a page's are not
    in_article = any(n.tag in ("article", "main") or n.get("role") == "main" for n in ancestors)
    for node in ancestors:
        tag = node.tag
        if node.get("role") in ("navigation", "banner") or tag in ("nav", "aside"):
            return True
        if in_article:
            continue  # inside an article, class words (entry-header, category-news) are content
        if tag in ("header", "footer"):
            return True
        names = f"{node.get('class') or ''} {node.get('id') or ''}".split()
        if any(STRONG.search(n) or n.lower() in WEAK for n in names):
            return True
    return False


def shape_of(path: str) -> tuple[str, ...]:
    """A URL path's shape: each segment a number (``9``), a year (``yyyy``) or a word (``w``),
    the last one's suffix, and a trailing slash."""
    segments = [s for s in path.split("/") if s]
    shape = []
    for segment in segments:
        stem, dot, suffix = segment.rpartition(".") if "." in segment else (segment, "", "")
        kind = "yyyy" if re.fullmatch(r"(19|20)\d\d", stem) else "9" if stem.isdigit() else "w"
        shape.append(kind + (f".{suffix}" if dot else ""))
    return (*shape, "/" if path.endswith("/") else "")


def merged_pattern(paths: list[str]) -> str:
    """:func:`url_pattern` for paths of several depths: their common segments, then anything."""
    split = [[s for s in p.split("/") if s] for p in paths]
    if len({len(parts) for parts in split}) == 1:
        return url_pattern(paths)
    common = []
    for values in zip(*split, strict=False):
        if len(set(values)) != 1:
            break
        common.append(re.escape(values[0]))
    slash = "/" if all(p.endswith("/") for p in paths) else ""
    prefix = "/".join(common) + ("/" if common else "")
    return "^https?://[^/]+/" + prefix + ".+" + slash + r"(\?.*)?$"


def url_pattern(paths: list[str]) -> str:
    """A regex for URL paths of one shape: segments all equal stay literal, numbers become
    ``\\d+``, words ``[^/]+``, on any host (``/2024/05/29/a/``, ``/2023/11/02/b/`` ->
    ``^https?://[^/]+/\\d+/\\d+/\\d+/[^/]+/(\\?.*)?$``): what ``allow:`` and ``match:`` search the
    whole URL for."""
    split = [[s for s in p.split("/") if s] for p in paths]
    parts = []
    for values in zip(*split, strict=False):
        if all(re.fullmatch(r"(19|20)\d\d", v) for v in values):
            parts.append(r"\d{4}")  # a year: next year's posts are of the same shape
            continue
        if all(v.isdigit() and len(v) <= 2 for v in values):
            parts.append(r"\d{1,2}")  # a month or a day, even when the samples share it
            continue
        if len(set(values)) == 1 and len(paths) > 1:
            parts.append(re.escape(values[0]))
            continue
        suffixes = {v.rpartition(".")[2] for v in values if "." in v}
        suffix = suffixes.pop() if len(suffixes) == 1 and all("." in v for v in values) else ""
        stems = [v[: -len(suffix) - 1] if suffix else v for v in values]
        body = r"\d+" if all(s.isdigit() for s in stems) else "[^/]+"
        parts.append(body + (re.escape("." + suffix) if suffix else ""))
    slash = "/" if paths and all(p.endswith("/") for p in paths) else ""
    return "^https?://[^/]+/" + "/".join(parts) + slash + r"(\?.*)?$"


def link_groups(url: str, root: Any) -> list[LinkGroup]:
    """The page's groups of same-site links, best first, each scored with its reason."""
    site = urlsplit(url).hostname
    here = urlsplit(url).path
    groups: dict[tuple[str, tuple[str, ...]], LinkGroup] = {}
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        try:
            target = urlsplit(urljoin(url, href))
        except ValueError:
            continue
        if target.hostname != site or target.path in ("", "/", here):
            continue
        key = (css_path(anchor), shape_of(target.path))
        group = groups.get(key)
        if group is None:
            group = groups[key] = LinkGroup(key[0], key[1], boilerplate=_in_boilerplate(anchor))
        group.paths.append(target.path)
        group.texts.append(" ".join(anchor.text_content().split()))
        group.urls.append(target._replace(fragment="").geturl())
    # links of one place whose URLs differ in depth (/post/a/, /post/x/y/) are one list
    by_place: dict[str, list[LinkGroup]] = {}
    for group in groups.values():
        by_place.setdefault(group.selector, []).append(group)
    for same in by_place.values():
        if len(same) > 1 and not any(g.boilerplate for g in same):
            first = same[0]
            for other in same[1:]:
                first.paths += other.paths
                first.texts += other.texts
                first.urls += other.urls
                del groups[(other.selector, other.shape)]
            first.shape = ("*",)
    ranked = [g for g in groups.values() if len(set(g.paths)) >= MIN_GROUP]
    for group in ranked:
        _score(group)
    return sorted(ranked, key=lambda g: g.score, reverse=True)


def _score(group: LinkGroup) -> None:
    distinct = len(set(group.paths))
    length = sum(len(t) for t in group.texts) / max(1, len(group.texts))
    # many links weigh, but less and less: a widget of 88 months must not beat 6 posts
    score = distinct**0.6 * (1 + min(length, 80) / 20)
    notes = [f"{distinct} links like {group.paths[0]}", f"anchor text {length:.0f} chars"]
    if group.boilerplate:
        score *= 0.15
        notes.append("in navigation, a header, footer or sidebar")
    if sum(bool(TAXONOMY.match(p)) for p in group.paths) > len(group.paths) / 2:
        score *= 0.2
        notes.append("taxonomy pages (tags, categories, archives, page numbers)")
    if length < 6:
        score *= 0.5
        notes.append("short texts")
    depth = len([s for s in group.paths[0].split("/") if s])
    if depth <= 1 and not group.paths[0].endswith((".html", ".htm", ".shtml", ".php")):
        score *= 0.6
        notes.append("top-level pages")
    group.score = round(score, 1)
    group.why = ", ".join(notes)


def next_page(url: str, root: Any) -> tuple[tuple[str, str] | None, str]:
    """How to reach the next list page, and why: ``(("css"|"xpath", expression), reason)``."""
    for anchor in root.iter("a", "link"):
        rel = (anchor.get("rel") or "").lower().split()
        if "next" in rel and anchor.get("href"):
            kind = "a" if anchor.tag == "a" else "link"
            return ("css", f"{kind}[rel~=next]"), "a link marked rel=next"
    for anchor in root.iter("a"):
        text = " ".join(_visible_text(anchor).split()) or (anchor.get("title") or "")
        label = anchor.get("aria-label") or ""
        classes = {c.lower() for c in _classes(anchor)}
        named = bool(classes & {"next", "nextpostslink", "next-page", "pagination-next"})
        if anchor.get("href") and (named or NEXT_TEXT.match(text) or NEXT_TEXT.match(label)):
            classes = _classes(anchor)
            if classes:
                return ("css", f"a.{classes[0]}"), f"a link whose text says next ({text!r})"
            return ("css", css_path(anchor, 2)), f"a link whose text says next ({text!r})"
    if root.xpath(NUMBERED):
        return ("xpath", NUMBERED), "numbered pages: the link after the page marked current"
    return None, "no next page found (rel=next, a next text, numbered pages)"


def _visible_text(element: Any) -> str:
    """The text a reader sees: without the parts meant for screen readers only."""
    hidden = ("screen-reader-text", "sr-only", "visually-hidden", "assistive-text")
    parts = [element.text or ""]
    for child in element:
        if not any(h in (child.get("class") or "") for h in hidden):
            parts.append(_visible_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def guess_list(url: str, root: Any) -> ListGuess:
    groups = link_groups(url, root)
    best = groups[0] if groups else None
    runner = groups[1] if len(groups) > 1 else None
    found, why = next_page(url, root)
    return ListGuess(best, runner, found, why)


PRODUCT_HINT = re.compile(
    r'"@type"\s*:\s*"(Product|ProductGroup)"|schema\.org/Product|"offers"\s*:|'
    r'property="(product|og):price'
)


def detail_kind(texts: list[str]) -> tuple[str, str]:
    """``article`` or ``product`` for the sampled detail pages, and why."""
    products = sum(bool(PRODUCT_HINT.search(t)) for t in texts)
    if texts and products > len(texts) / 2:
        return "product", f"{products} of {len(texts)} sampled pages describe a product"
    return "article", f"{len(texts) - products} of {len(texts)} sampled pages read as articles"
