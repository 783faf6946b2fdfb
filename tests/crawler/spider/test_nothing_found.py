"""What a page type's links, rows and pagination found on a page, and the line a person reads
for each that found nothing (``scrapy preview``'s warnings)."""

from __future__ import annotations

from crawler.spider.extract import nothing_found
from tests.crawler.spider.test_extract import extract, html, rule

LIST = """\
  p:
    rows:
      css: ul.list li
      fields: {id: {css: "::attr(data-id)"}}
      links:
        - {css: a, to: p}
    links:
      - {css: a.next, to: p}
      - {css: h3 a, to: p}
      - {css: a.ext, to: p, allow: /only-this/}
      - {css: a.ext, to: p, max_depth: 1}
    pagination: {next: {css: li.next a}, max_pages: 5}
"""


def warnings_for(pages: str, body_url: str = "http://example.com/shop/list", **kw):
    compiled = rule(pages, extra="item: {key: id}\n")
    result = extract(compiled, html(body_url), **kw)
    return result, nothing_found(compiled.rule.pages["p"], result.found)


def test_each_link_selector_and_the_pagination_are_counted():
    result, _ = warnings_for(LIST)
    counts = {place: (f.matched, f.kept, f.limit) for place, f in result.found.items()}
    assert counts == {
        "rows": (3, 3, ""),
        "rows.links[0]": (3, 2, ""),  # javascript: is no URL to follow
        "links[0]": (1, 1, ""),
        "links[1]": (0, 0, ""),
        "links[2]": (1, 0, ""),
        "links[3]": (1, 1, ""),
        "pagination": (0, 0, ""),
    }


def test_a_line_names_each_selector_that_found_nothing():
    _, lines = warnings_for(LIST)
    assert lines == [
        "pages.p.links[1] (css 'h3 a', to p) matched nothing on this page",
        "pages.p.links[2] (css 'a.ext', to p) found 1 value(s), but no URL to follow "
        "(not http(s) links, or left out by allow/deny)",
        "pages.p.pagination.next (css 'li.next a') matched nothing: no next page from here "
        "(right only on the last page)",
    ]
    _, deeper = warnings_for(LIST, depth=1, pageno=5)
    assert (
        "pages.p.links[3] (css 'a.ext', to p) is not followed from this page's depth "
        "(max_depth 1)" in deeper
    )
    assert "pages.p.pagination stops here (max_pages 5)" in deeper


def test_rows_that_match_nothing_are_one_line_for_them_and_their_links():
    _, lines = warnings_for(LIST.replace("css: ul.list li", "css: ul.nope li"))
    assert lines[0] == (
        "pages.p.rows (css 'ul.nope li') matched nothing on this page, so no row fields were "
        "read and no row links followed"
    )
    assert not any("rows.links" in line for line in lines)


def test_a_page_where_everything_matched_has_no_line():
    pages = "  p:\n    links: [{css: a.ext, to: p}]\n    pagination: {next: {css: a.next}}\n"
    result, lines = warnings_for(pages)
    assert lines == []
    assert [f.url for f in result.follows] == [
        "http://other.org/x",
        "http://example.com/shop/?page=2",
    ]
