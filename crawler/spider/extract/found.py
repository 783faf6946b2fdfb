"""What a page type's links, rows and pagination found on one page, and, for a person, which of
them found nothing (``scrapy preview`` prints it: a list page whose links match nothing is the
first thing to fix in a new rule).

>>> from crawler.rules.model import LinkSpec, PageType, Pagination, Selector
>>> page = PageType("list", links=(LinkSpec(Selector(css="h3 a"), "book"),),
...                 pagination=Pagination("next", next=Selector(css="li.next a")))
>>> for line in nothing_found(page, {"links[0]": Found(), "pagination": Found()}):
...     print(line)
pages.list.links[0] (css 'h3 a', to book) matched nothing on this page
pages.list.pagination.next (css 'li.next a') matched nothing: no next page from here (right only on the last page)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crawler.rules.model import PageType, Pagination, Selector


@dataclass
class Found:
    """What one link selector, the rows or the pagination found on one page."""

    matched: int = 0  # values the selector found (rows: rows; pagination: pages it leads to)
    kept: int = 0  # links: the URLs left to follow (http(s), through allow and deny)
    limit: str = ""  # why it did not look on this page: "max_depth 1", "max_pages 3"


def selector_text(selector: Selector | None) -> str:
    """``css 'h3 a'``, ``xpath '//a' regex 'p=(\\d+)'``: a selector as a person wrote it."""
    if selector is None:
        return "no selector"
    parts = [
        f"{kind} {getattr(selector, kind)!r}"
        for kind in ("xpath", "css", "json", "regex")
        if getattr(selector, kind) is not None
    ]
    return " ".join(parts) or "no selector"


def nothing_found(page: PageType, found: Mapping[str, Found]) -> list[str]:
    """One line per link selector, rows or pagination of ``page`` that found nothing (or was not
    looked for), saying which, and what it means."""
    where = f"pages.{page.name}"
    lines = []
    rows = found.get("rows")
    if page.rows is not None and rows is not None and not rows.matched:
        lines.append(
            f"{where}.rows ({selector_text(page.rows.selector)}) matched nothing on this page, "
            "so no row fields were read and no row links followed"
        )
    links = [(f"links[{i}]", link) for i, link in enumerate(page.links)]
    if page.rows is not None and (rows is None or rows.matched):
        links += [(f"rows.links[{i}]", link) for i, link in enumerate(page.rows.links)]
    for place, link in links:
        tally = found.get(place)
        if tally is None or tally.kept:
            continue
        what = f"{where}.{place} ({selector_text(link.selector)}, to {link.to})"
        if tally.limit:
            lines.append(f"{what} is not followed from this page's depth ({tally.limit})")
        elif tally.matched:
            lines.append(
                f"{what} found {tally.matched} value(s), but no URL to follow "
                "(not http(s) links, or left out by allow/deny)"
            )
        else:
            lines.append(f"{what} matched nothing on this page")
    tally = found.get("pagination")
    if page.pagination is not None and tally is not None and not tally.matched:
        lines.append(_pagination_line(where, page.pagination, tally))
    return lines


def _pagination_line(where: str, spec: Pagination, tally: Found) -> str:
    if tally.limit:
        return f"{where}.pagination stops here ({tally.limit})"
    if spec.style == "next":
        return (
            f"{where}.pagination.next ({selector_text(spec.next)}) matched nothing: "
            "no next page from here (right only on the last page)"
        )
    if spec.style == "offset":
        until = (
            f"until_empty ({selector_text(spec.until_empty)})" if spec.until_empty else "the rows"
        )
        return f"{where}.pagination.offset stops here: {until} found nothing"
    if spec.style == "cursor":
        return (
            f"{where}.pagination.cursor.value ({selector_text(spec.cursor)}) found no cursor: "
            "no next page from here (right only on the last page)"
        )
    return f"{where}.pagination.{spec.style} made no page URL from this page"
