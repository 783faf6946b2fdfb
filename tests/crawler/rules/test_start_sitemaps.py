"""Sitemap and feed starts in the compiler: their schema, their checks at file:line:column, their
typed start and the request specs they make."""

from __future__ import annotations

import pytest

from crawler.rules import RuleError
from crawler.rules.request_specs import resolve_args, start_count, start_requests
from crawler.rules.schema import rule_schema
from crawler.spider.project import parse_rule

BASE = """args: {{site: "http://x.test"}}
start:
{start}pages:
  book:
    fields: {{title: {{css: h1}}}}
  news:
    fields: {{title: {{css: h1}}}}
"""


def rule(start: str):
    return parse_rule(BASE.format(start=start), filename="r.yaml")


def problems(start: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        rule(start)
    return [str(p) for p in info.value.problems]


def test_a_sitemap_start_is_typed_with_its_filters_and_bounds():
    compiled = rule(
        '  - sitemap: "{site}/sitemap_index.xml"\n'
        "    page: book\n"
        "    allow: /book/\n"
        "    deny: ['/book/0', '\\?print']\n"
        "    max_urls: 500\n"
        "    max_depth: 2\n"
        "    carry: {source: sitemap}\n"
    )
    start = compiled.start[0]
    assert (start.listing, start.listing_url, start.page) == (
        "sitemap",
        "{site}/sitemap_index.xml",
        "book",
    )
    assert start.urls == () and start.first_urls == ("{site}/sitemap_index.xml",)
    assert start.allow == ("/book/",) and start.deny == ("/book/0", "\\?print")
    assert (start.max_urls, start.max_depth, dict(start.carry)) == (500, 2, {"source": "sitemap"})
    assert start.extras == {}  # every key is the start section's own


def test_a_feed_start_and_a_page_start_side_by_side():
    compiled = rule(
        '  - feed: "{site}/feeds/news.rss"\n    page: news\n'
        '  - url: "{site}/book/{1..3}.html"\n    page: book\n'
    )
    feed, pages = compiled.start
    assert (feed.listing, feed.listing_url, feed.max_depth) == (
        "feed",
        "{site}/feeds/news.rss",
        None,
    )
    assert (pages.listing, pages.listing_url, pages.first_urls) == (
        None,
        None,
        ("{site}/book/{1..3}.html",),
    )
    # the feed is one request at the start; what it lists is bounded by the crawl
    assert start_count(compiled, {"site": "http://x.test"}) == 4


def test_start_requests_fetch_the_document_with_no_page_type_of_its_own():
    compiled = rule(
        '  - sitemap: "{site}/robots.txt"\n    page: book\n    priority: 3\n'
        '  - sitemap: "{site}/sitemap-{1..2}.xml.gz"\n    page: book\n'
        '  - feed: "{site}/atom.xml"\n    page: news\n    headers: {X-Feed: "1"}\n'
    )
    specs = list(start_requests(compiled, resolve_args(compiled, {"site": "http://y.test"})))
    assert [(s.url, s.listing, s.start_index, s.priority) for s in specs] == [
        ("http://y.test/robots.txt", "robots", 0, 3),
        ("http://y.test/sitemap-1.xml.gz", "sitemap", 1, 0),
        ("http://y.test/sitemap-2.xml.gz", "sitemap", 1, 0),
        ("http://y.test/atom.xml", "feed", 2, 0),
    ]
    assert all(s.start and s.method == "GET" and s.listing_depth == 0 for s in specs)
    assert specs[3].headers == {"X-Feed": "1"} and specs[3].page == "news"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            '  - url: "{site}/"\n    sitemap: "{site}/sitemap.xml"\n    page: book\n',
            "r.yaml:3:5: start[0]: needs exactly one of url, urls, sitemap or feed "
            "(found url and sitemap)",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    feed: "{site}/f.xml"\n    page: book\n',
            "r.yaml:3:5: start[0]: needs exactly one of url, urls, sitemap or feed "
            "(found sitemap and feed)",
        ),
        (
            "  - page: book\n",
            "r.yaml:3:5: start[0]: needs exactly one of url, urls, sitemap or feed",
        ),
        (
            "  - sitemap: ftp://x.test/sitemap.xml\n    page: book\n",
            "r.yaml:3:5: start[0].sitemap: 'ftp://x.test/sitemap.xml': only http and https URLs "
            "can be crawled, not ftp:",
        ),
        (
            "  - sitemap: robots\n    page: book\n",
            "r.yaml:3:5: start[0].sitemap: 'robots': Missing scheme in request url: robots (for "
            'the Sitemap: lines of a robots.txt, write its URL: "{site}/robots.txt")',
        ),
        (
            '  - feed: "{host}/feed.xml"\n    page: book\n',
            "r.yaml:3:5: start[0].feed: uses {host}, which is not declared under args",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: bok\n',
            "r.yaml:4:5: start[0].page: no page type named 'bok' (did you mean 'book'?)",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: book\n    allow: ["/book/", "(unclosed"]\n',
            "r.yaml:5:23: start[0].allow[1]: invalid regular expression '(unclosed'",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: book\n    deny: "[z-a]"\n',
            "r.yaml:5:5: start[0].deny: invalid regular expression '[z-a]'",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: book\n    method: POST\n',
            "r.yaml:5:5: start[0].method: a sitemap is fetched with GET: method does not apply",
        ),
        (
            '  - feed: "{site}/f.xml"\n    page: book\n    form: {q: x}\n',
            "r.yaml:5:5: start[0].form: a feed is fetched with GET: form does not apply",
        ),
        (
            '  - feed: "{site}/f.xml"\n    page: book\n    max_depth: 2\n',
            "r.yaml:5:5: start[0].max_depth: a feed has no index to follow: max_depth does "
            "not apply",
        ),
        (
            '  - url: "{site}/"\n    page: book\n    allow: /book/\n',
            "r.yaml:5:5: start[0].allow: allow is for sitemap and feed starts",
        ),
        (
            '  - url: "{site}/"\n    page: book\n    max_urls: 10\n',
            "r.yaml:5:5: start[0].max_urls: max_urls is for sitemap and feed starts",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: book\n    max_urls: 0\n',
            "r.yaml:5:5: start[0].max_urls: 0 is less than the minimum of 1",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: book\n    max_depth: -1\n',
            "r.yaml:5:5: start[0].max_depth: -1 is less than the minimum of 0",
        ),
        (
            "  - sitemap: [a, b]\n    page: book\n",
            "r.yaml:3:5: start[0].sitemap: expected a string, got a list",
        ),
        (
            '  - sitemap: "{site}/s.xml"\n    page: book\n    max_url: 5\n',
            "r.yaml:5:5: start[0].max_url: unknown field 'max_url' (did you mean 'max_urls'?)",
        ),
    ],
)
def test_problems_are_reported_where_they_are(start, expected):
    found = problems(start)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_of_a_start_at_once():
    found = problems(
        '  - url: "{site}/"\n'
        '    feed: "gopher://x.test/f"\n'
        "    page: nope\n"
        "    body: x\n"
        "    max_depth: 1\n"
    )
    assert [p.split(": ")[1] for p in found] == [
        "start[0]",
        "start[0].feed",
        "start[0].page",
        "start[0].body",
        "start[0].max_depth",
    ], found


def test_sitemap_templates_count_against_the_start_limit():
    found = problems('  - sitemap: "{site}/sitemap-{1..200000}.xml"\n    page: book\n')
    assert found == [
        "r.yaml:3:5: start[0].sitemap: the start URLs stand for 200,000+ requests, more than "
        "the limit of 100,000 (setting RULE_MAX_START_REQUESTS)"
    ]


def test_the_json_schema_documents_sitemap_and_feed_starts():
    start = rule_schema()["$defs"]["start"]["properties"]
    assert {"sitemap", "feed", "allow", "deny", "max_urls", "max_depth"} <= set(start)
    assert "robots.txt" in start["sitemap"]["description"]
    assert start["max_urls"]["minimum"] == 1 and start["max_depth"]["minimum"] == 0
