"""The sample site itself, over real HTTP: every URL kind, pagination, APIs, encodings, CLI."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import pytest
from aiohttp import web
from parsel import Selector

from tests.sample_site import SampleSite, blog, create_app, security
from tests.sample_site.data import (
    BOOKS_PAGE_SIZE,
    BROKEN_LINKS,
    BROKEN_ROWS,
    NEWS,
    NEWS_INTRO,
    RATING_WORDS,
    TAG_NAMES,
    TAG_PAGE_SIZE,
    TAGS,
    api_item,
    books_in_tag,
    catalogue,
    chinese_date,
    pages,
    short_title,
)

BOOKS = catalogue(60)
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)

    def sel(self) -> Selector:
        return Selector(text=self.text)


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, dict(err.headers), err.read())


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- data ---------------------------------------------------------------------------------


def test_catalogue_is_deterministic_and_prefix_stable():
    assert catalogue(60) == BOOKS
    assert catalogue(200)[:60] == BOOKS
    assert [b.id for b in BOOKS] == list(range(1, 61))
    assert [b.tag for b in BOOKS[:6]] == [
        "travel",
        "mystery",
        "poetry",
        "science",
        "misc",
        "travel",
    ]
    for b in BOOKS:
        assert re.fullmatch(r"\d+\.\d\d", b.price)
        assert re.fullmatch(r"[0-9a-f]{16}", b.upc)
        assert 1 <= b.rating <= 5 and b.stock > 0
        assert 1 <= len(re.findall(r"[.!?]\"?(?:\s|$)", b.description)) <= 3, b.description


def test_catalogue_has_the_nasty_titles():
    nasty = [b for b in BOOKS if re.search(r"[&<\"']", b.title)]
    chinese = [b for b in BOOKS if re.search(r"[\u4e00-\u9fff]", b.title)]
    long = [b for b in BOOKS if len(b.title) > 40]
    assert 6 <= len(nasty) <= 12 and 9 <= len(chinese) <= 15 and long
    assert {b.tag for b in chinese} == set(TAG_NAMES)
    assert any("&" in b.title for b in nasty) and any("<" in b.title for b in nasty)
    assert any('"' in b.title for b in nasty)


def test_short_title():
    assert short_title("x" * 40) == "x" * 40
    assert short_title("y" * 41) == "y" * 37 + "..."
    assert len(short_title("z" * 100)) == 40


# --- HTML pages ---------------------------------------------------------------------------


def test_index_links(sample_site):
    reply = fetch(sample_site + "/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    sel = reply.sel()
    tags = [(a.attrib["href"], a.css("::text").get()) for a in sel.css("ul.tags li a.tag")]
    assert tags == [(f"/tag/{slug}/", name) for slug, name in TAGS]
    assert sel.css("a#all-books::attr(href)").get() == "/books/"
    assert sel.css("a#api::attr(href)").get() == "/api/books"
    assert sel.css("a#news::attr(href)").get() == "/gbk/"
    assert sel.css("a#news::text").get() == "新闻"


@pytest.mark.parametrize("slug", [slug for slug, _ in TAGS])
def test_tag_pagination_follows_relative_next_links(sample_site, slug):
    expected = books_in_tag(slug, BOOKS)
    last = pages(expected, TAG_PAGE_SIZE)
    url, seen, hrefs, visited = f"{sample_site}/tag/{slug}/", [], [], []
    while url:
        reply = fetch(url)
        assert reply.status == 200, url
        visited.append(path_of(url))
        sel = reply.sel()
        assert sel.css("h1::text").get() == TAG_NAMES[slug]
        seen += sel.css("article.book::attr(data-id)").getall()
        href = sel.css("ul.pager li.next a::attr(href)").get()
        hrefs.append(href)
        url = urljoin(url, href) if href else None
    broken = [row.key for row in BROKEN_ROWS] if slug == "misc" else []
    assert seen == [str(b.id) for b in expected] + broken
    assert visited == [f"/tag/{slug}/"] + [f"/tag/{slug}/page/{n}/" for n in range(2, last + 1)]
    assert hrefs == ["page/2/"] + [f"../{n}/" for n in range(3, last + 1)] + [None]


def test_tag_rows_markup(sample_site):
    books = books_in_tag("mystery", BOOKS)[:TAG_PAGE_SIZE]
    sel = fetch(sample_site + "/tag/mystery/").sel()
    rows = sel.css("article.book")
    assert len(rows) == len(books)
    for row, b in zip(rows, books, strict=True):
        link = row.css("h3 a")
        assert link.attrib["href"] == f"/book/{b.id}.html"
        assert link.attrib["title"] == b.title
        assert link.css("::text").get() == short_title(b.title)
        assert row.css("p.price::text").get() == f"£{b.price}"
        assert row.css("p.star-rating").attrib["class"] == f"star-rating {RATING_WORDS[b.rating]}"


def test_titles_are_escaped_in_markup(sample_site):
    nasty = next(b for b in BOOKS if "<" in b.title)
    raw = fetch(f"{sample_site}/book/{nasty.id}.html").text
    assert nasty.title not in raw
    assert Selector(text=raw).css("h1::text").get() == nasty.title


def test_last_misc_page_links_to_the_broken_links(sample_site):
    last = pages(len(books_in_tag("misc", BOOKS)), TAG_PAGE_SIZE)
    sel = fetch(f"{sample_site}/tag/misc/page/{last}/").sel()
    hrefs = sel.css("article.book h3 a::attr(href)").getall()
    assert hrefs[-2:] == list(BROKEN_LINKS) == ["/book/broken-1.html", "/book/999999.html"]
    assert fetch(sample_site + "/book/999999.html").status == 404
    assert fetch(sample_site + "/book/broken-1.html").status == 200
    # Only the last page carries them.
    first = fetch(f"{sample_site}/tag/misc/").sel()
    assert not set(first.css("article.book h3 a::attr(href)").getall()) & set(BROKEN_LINKS)


@pytest.mark.parametrize(
    "path",
    [
        "/tag/nope/",
        "/tag/misc/page/3/",
        "/tag/misc/page/1/",
        "/tag/misc/page/0/",
        "/tag/misc/page/02/",
        "/tag/misc/page/x/",
        "/tag/misc/page/%C2%B2/",
        "/book/%EF%BC%91.html",
        "/books/?page=%C2%B2",
        "/tag/misc",
        "/books/?page=4",
        "/books/?page=0",
        "/books/?page=abc",
        "/book/61.html",
        "/book/0.html",
        "/book/01.html",
        "/book/abc.html",
        "/gbk/7.html",
        "/error/200",
        "/nothing/here",
    ],
)
def test_unknown_and_out_of_range_are_html_404(sample_site, path):
    reply = fetch(sample_site + path)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "404" in reply.sel().css("h1::text").get()


def test_all_books_table_pages(sample_site):
    total = pages(BOOKS, BOOKS_PAGE_SIZE)
    assert total == 3
    ids = []
    for n in range(1, total + 1):
        url = f"{sample_site}/books/" + ("" if n == 1 else f"?page={n}")
        sel = fetch(url).sel()
        pager = sel.css("div.pager")
        assert pager.attrib["data-pages"] == str(total)
        assert pager.css("::text").get() == f"Page {n} of {total}"
        assert not sel.css("li.next") and "next" not in sel.css("a::text").getall()
        for row in sel.css("table.books tr.row"):
            link = row.css("td.title a")
            book = BOOKS[int(link.attrib["href"].split("/")[-1].split(".")[0]) - 1]
            assert link.css("::text").get() == book.title
            assert row.css("td.price::text").get() == f"£{book.price}"
            ids.append(book.id)
    assert ids == [b.id for b in BOOKS]
    assert fetch(f"{sample_site}/books/?page=1").body == fetch(f"{sample_site}/books/").body


@pytest.mark.parametrize("book_id", [1, 3, 10, 11, 45, 60])
def test_detail_page(sample_site, book_id):
    b = BOOKS[book_id - 1]
    reply = fetch(f"{sample_site}/book/{book_id}.html")
    assert reply.status == 200
    sel = reply.sel()
    main = sel.css("div.product_main")
    assert main.css("h1::text").get() == b.title
    assert main.css("p.price_color::text").get() == f"£{b.price}"
    assert main.css("p.instock.availability::text").get() == f"In stock ({b.stock} available)"
    assert sel.css("#product_description p::text").get() == b.description
    info = {r.css("th::text").get(): r.css("td") for r in sel.css("table.product_info tr")}
    assert info["UPC"].css("::text").get() == b.upc
    assert info["Published"].css("::text").get() == chinese_date(b.published)
    assert info["Tag"].css("a::attr(href)").get() == f"/tag/{b.tag}/"
    assert info["Tag"].css("a::text").get() == TAG_NAMES[b.tag]
    ld = json.loads(sel.css('script[type="application/ld+json"]::text').get())
    assert ld["@type"] == "Book" and ld["name"] == b.title and ld["sku"] == b.upc
    assert ld["offers"] == {"price": b.price, "priceCurrency": "GBP"}
    assert "star-rating" not in reply.text  # the rating lives on list pages only


def test_chinese_date_has_no_leading_zeros():
    import datetime

    assert chinese_date(datetime.date(2009, 1, 2)) == "2009年1月2日"


# --- JSON APIs ----------------------------------------------------------------------------


def test_api_defaults(sample_site):
    reply = fetch(sample_site + "/api/books")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/json")
    data = reply.json()
    assert data["offset"] == 0 and data["limit"] == 20 and data["total"] == 60
    assert data["items"] == [api_item(b) for b in BOOKS[:20]]
    assert data["items"][0] == {
        "id": 1,
        "title": BOOKS[0].title,
        "price": BOOKS[0].price,
        "tag": "travel",
        "url": "/book/1.html",
    }


def test_api_offset_pagination_walks_every_book_once(sample_site):
    ids, offset = [], 0
    while True:
        data = fetch(f"{sample_site}/api/books?offset={offset}&limit=7").json()
        if not data["items"]:
            break
        ids += [item["id"] for item in data["items"]]
        offset += 7
    assert ids == list(range(1, 61))
    assert fetch(f"{sample_site}/api/books?offset=60").json()["items"] == []
    assert len(fetch(f"{sample_site}/api/books?limit=100").json()["items"]) == 60


@pytest.mark.parametrize("query", ["offset=-1", "offset=x", "limit=0", "limit=101", "limit=2.5"])
def test_api_bad_params_are_400_json(sample_site, query):
    reply = fetch(f"{sample_site}/api/books?{query}")
    assert reply.status == 400
    assert "error" in reply.json()


def test_api_cursor_pagination_walks_every_book_once(sample_site):
    ids, cursors, url = [], [], f"{sample_site}/api/books/cursor"
    while True:
        data = fetch(url).json()
        ids += [book["id"] for book in data["data"]["books"]]
        if data["next_cursor"] is None:
            break
        cursors.append(data["next_cursor"])
        url = f"{sample_site}/api/books/cursor?cursor={data['next_cursor']}"
    assert ids == list(range(1, 61))
    assert len(cursors) == 2 and all(not c.isdigit() for c in cursors)
    first = fetch(f"{sample_site}/api/books/cursor").json()
    assert first["data"]["books"] == [api_item(b) for b in BOOKS[:20]]


@pytest.mark.parametrize("cursor", ["%%%", "bm9wZQ", "12"])
def test_api_invalid_cursor_is_400(sample_site, cursor):
    reply = fetch(f"{sample_site}/api/books/cursor?cursor={cursor}")
    assert reply.status == 400 and "error" in reply.json()


def expected_search(q: str, tag: str | None = None) -> list[dict[str, object]]:
    return [
        api_item(b)
        for b in BOOKS
        if q.casefold() in b.title.casefold() and (tag is None or b.tag == tag)
    ]


def test_search_form_encoded(sample_site):
    reply = fetch(
        sample_site + "/api/search",
        data=b"q=the&tag=misc",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200
    data = reply.json()
    assert data["query"] == "the" and data["tag"] == "misc" and data["content_type"] == "form"
    assert data["api_key"] is False
    assert data["results"] == expected_search("the", "misc") and data["results"]


def test_search_json_with_api_key(sample_site):
    reply = fetch(
        sample_site + "/api/search",
        data=json.dumps({"q": "LINES"}).encode(),
        headers={"Content-Type": "application/json", "X-Api-Key": "secret"},
    )
    data = reply.json()
    assert data["query"] == "LINES" and data["tag"] is None and data["content_type"] == "json"
    assert data["api_key"] is True
    assert data["results"] == expected_search("lines") and data["results"]


def test_search_finds_chinese_and_escaped_titles(sample_site):
    for q in ("灯塔", "&", "<"):
        data = fetch(
            sample_site + "/api/search",
            data=json.dumps({"q": q}).encode(),
            headers={"Content-Type": "application/json"},
        ).json()
        assert data["results"] == expected_search(q)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"tag=misc", "application/x-www-form-urlencoded", 400),
        (b'{"tag": "misc"}', "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"q=x", "text/plain", 415),
    ],
)
def test_search_bad_requests(sample_site, body, content_type, status):
    reply = fetch(sample_site + "/api/search", data=body, headers={"Content-Type": content_type})
    assert reply.status == status and "error" in reply.json()


def test_search_get_is_405(sample_site):
    assert fetch(sample_site + "/api/search").status == 405


# --- GB18030 news -------------------------------------------------------------------------


def assert_gb_page(reply: Reply) -> str:
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"
    text = reply.body.decode("gb18030")
    assert "charset" not in text.lower() and "http-equiv" not in text.lower()
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    best = charset_normalizer.from_bytes(reply.body).best()
    assert best is not None and best.encoding in ("gb18030", "gbk", "gb2312")
    return text


def test_gbk_list(sample_site):
    text = assert_gb_page(fetch(sample_site + "/gbk/"))
    sel = Selector(text=text)
    links = [(a.attrib["href"], a.css("::text").get()) for a in sel.css("a.news")]
    assert links == [(f"/gbk/{n.id}.html", n.title) for n in NEWS]
    assert NEWS_INTRO in text


@pytest.mark.parametrize("article", NEWS, ids=lambda n: str(n.id))
def test_gbk_article(sample_site, article):
    text = assert_gb_page(fetch(f"{sample_site}/gbk/{article.id}.html"))
    sel = Selector(text=text)
    assert sel.css("h1::text").get() == article.title
    assert sel.css("div.content p::text").get() == article.body
    assert sel.css("span.date::text").get() == chinese_date(article.published)
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) >= 200


def test_news_text_has_full_width_punctuation():
    text = "".join(n.body for n in NEWS)
    for char in "「」，。（）１２３":
        assert char in text


# --- malformed content, errors, robots ----------------------------------------------------


def test_broken_book_page(sample_site):
    reply = fetch(sample_site + "/book/broken-1.html")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    assert reply.body.rstrip().endswith(b'<a href="/book/2.ht')
    assert b'<p class="instock availability">In stock (3 available)</p>' in reply.body
    assert b"</div></div>" in reply.body and b"x < y & y" in reply.body
    sel = Selector(text=reply.body.decode("utf-8", "replace"))
    assert sel.css("h1").get() is None
    assert not sel.css(".price_color, .price") and "£" not in sel.get()
    assert sel.css("p.instock.availability::text").get() == "In stock (3 available)"
    assert sel.css("#product_description")


def test_broken_page(sample_site):
    reply = fetch(sample_site + "/broken/")
    assert reply.status == 200
    with pytest.raises(UnicodeDecodeError):
        reply.body.decode("utf-8")
    assert not reply.body.rstrip().endswith(b">")
    sel = Selector(text=reply.body.decode("utf-8", "replace"))
    assert sel.css("li.item::text").getall() == ["Alpha", "Beta & Gamma", "Delta < Epsilon"]
    assert sel.css("a.link::attr(href)").getall() == ["/book/1.html", "/book/2.html"]
    assert "/broken/" not in fetch(sample_site + "/").text


def test_error_500(sample_site):
    assert fetch(sample_site + "/error/500").status == 500
    assert fetch(sample_site + "/error/503").status == 503


def test_robots_and_private(sample_site):
    reply = fetch(sample_site + "/robots.txt")
    assert reply.status == 200 and reply.body == (
        b"User-agent: *\nDisallow: /private/\nSitemap: "
        + sample_site.encode()
        + b"/sitemap_index.xml\n"
    )
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert fetch(sample_site + "/private/secret.html").status == 200


# --- server options, runner, CLI ----------------------------------------------------------


def test_latency_delays_every_response(make_sample_site):
    site = make_sample_site(books=5, latency=0.2)
    for path in ("/", "/nope"):
        start = time.perf_counter()
        fetch(site.url + path)
        assert time.perf_counter() - start >= 0.2


def test_books_option_and_app_keys(make_sample_site):
    site = make_sample_site(books=130)
    assert site.app["books"] == 130
    data = fetch(site.url + "/api/books?offset=120").json()
    assert data["total"] == 130 and [i["id"] for i in data["items"]] == list(range(121, 131))
    assert fetch(site.url + "/tag/misc/page/3/").status == 200  # 26 misc books
    assert create_app(0)["books"] == 0


def test_extra_middlewares_see_every_response(make_sample_site):
    statuses = []

    @web.middleware
    async def record(request, handler):
        response = await handler(request)
        statuses.append(response.status)
        response.headers["X-Seen"] = "1"
        return response

    site = make_sample_site(books=5, middlewares=[record])
    assert fetch(site.url + "/").headers["X-Seen"] == "1"
    assert fetch(site.url + "/missing").headers["X-Seen"] == "1"
    assert statuses == [200, 404]


def test_sample_site_stop_and_restart():
    site = SampleSite(books=5)
    url = site.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and site.url == url
    assert site.start() == url  # already running: same URL
    site.stop()
    site.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/", timeout=2)
    with SampleSite(books=5) as again:
        assert fetch(again.url + "/").status == 200


def test_cli_prints_url_first_and_exits_on_sigterm():
    command = [sys.executable, "-m", "tests.sample_site", "--books", "25", "--latency-ms", "0"]
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            url = proc.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
            assert fetch(url + "/api/books").json()["total"] == 25
            fetch(url + "/tag/misc/")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert proc.stdout.read() == ""  # nothing logged per request
        finally:
            if proc.poll() is None:
                proc.kill()


def test_module_doctests():
    import doctest

    from tests.sample_site import data, server

    for module in (data, server, blog, security):
        assert doctest.testmod(module).failed == 0


def test_head_requests(sample_site):
    request = urllib.request.Request(sample_site + "/book/1.html", method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200 and response.read() == b""


def test_start_on_a_busy_port_raises(make_sample_site):
    busy = make_sample_site(books=1)
    with pytest.raises(RuntimeError, match="failed to start"):
        SampleSite(books=1, port=busy.port).start()


# --- big-page mode: the blog of long posts --------------------------------------------------


def test_blog_posts_are_deterministic_and_prefix_stable():
    first, again = blog.posts(40), blog.posts(40)
    assert first == again and blog.posts(400)[:40] == first
    assert [p.id for p in first] == list(range(1, 41))
    assert [blog.post_page(p) for p in first[:5]] == [blog.post_page(p) for p in again[:5]]
    # the same bytes on every run and machine: pinned, so a change to the generator shows
    third = blog.post_page(first[2])
    assert len(third) == 151_736
    assert hashlib.sha256(third).hexdigest()[:16] == "53902646edbb1577"
    for post in first:
        assert 1 <= len(post.categories) <= 3 and set(post.categories) <= set(blog.CATEGORIES)
    with pytest.raises(ValueError):
        blog.posts(-1)


def test_blog_post_pages_are_50_to_300_kb_and_spread_over_the_range():
    sizes = [len(blog.post_page(p)) for p in blog.posts(300)]
    assert all(blog.BIG_PAGE_MIN <= s <= blog.BIG_PAGE_MAX for s in sizes), (min(sizes), max(sizes))
    assert blog.BIG_PAGE_MIN <= 50_000 and blog.BIG_PAGE_MAX <= 300_000
    assert min(sizes) < 70_000 and max(sizes) > 270_000  # the whole range, not one size


def test_blog_over_http(make_sample_site):
    site = make_sample_site(books=0, big_pages=25)
    posts = blog.posts(25)
    url, listed, visited = site.url + "/blog/", [], []
    while url:
        reply = fetch(url)
        assert reply.status == 200 and reply.headers["Content-Type"] == "text/html; charset=utf-8"
        visited.append(path_of(url))
        sel = reply.sel()
        listed += sel.css("h2.entry-title a::attr(href)").getall()
        href = sel.css("a.next::attr(href)").get()
        url = urljoin(url, href) if href else None
    assert visited == ["/blog/", "/blog/page/2/", "/blog/page/3/"]
    assert listed == [p.url for p in posts]
    for post in (posts[0], posts[2], posts[24]):
        reply = fetch(site.url + post.url)
        assert reply.status == 200 and reply.body == blog.post_page(post)
        sel = reply.sel()
        assert sel.css("h1.entry-title::text").get() == post.title
        assert sel.css("time.published::attr(datetime)").get() == post.published.isoformat()
        assert sel.css("span.cat-links a[rel~=tag]::text").getall() == list(post.categories)
        text = sel.css("div.entry-content").xpath("string()").get()
        assert " ".join(text.split()) == blog.article_text(post)
        assert len(blog.article_text(post)) > 20_000
    for missing in (
        "/blog/26.html",
        "/blog/0.html",
        "/blog/01.html",
        "/blog/page/4/",
        "/blog/page/1/",
    ):
        assert fetch(site.url + missing).status == 404, missing


def test_blog_is_off_unless_asked_for(sample_site):
    assert fetch(sample_site + "/blog/").status == 404
    assert fetch(sample_site + "/blog/1.html").status == 404


def test_cli_big_pages():
    command = [sys.executable, "-m", "tests.sample_site", "--books", "0", "--big-pages", "12"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as proc:
        try:
            url = proc.stdout.readline().strip()
            assert fetch(url + "/blog/12.html").body == blog.post_page(blog.posts(12)[11])
            assert fetch(url + "/blog/page/2/").status == 200
            assert fetch(url + "/blog/13.html").status == 404
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=5)


# --- the security blog: captchas inside articles ----------------------------------------------


def test_security_blog_over_http(sample_site):
    index = fetch(sample_site + "/security/")
    assert index.status == 200
    assert index.sel().css("ul.posts a::attr(href)").getall() == [a.url for a in security.ARTICLES]
    for article in security.ARTICLES:
        reply = fetch(sample_site + article.url)
        assert reply.status == 200 and reply.body == security.article_page(article)
        sel = reply.sel()
        assert sel.css("article h1::text").get() == article.title
        text = sel.css("div.entry-content").xpath("string()").get()
        assert " ".join(text.split()) == security.article_text(article)
        shown = sel.css("div.entry-content img::attr(src)").getall()
        assert len(shown) == article.images
        for src in shown + sel.css("form img::attr(src)").getall():
            image = fetch(sample_site + src)
            assert image.status == 200 and image.body[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(sel.css("form").getall()) == 0  # the note has no comment form
    for missing in ("/security/nope.html", "/security/img/nope-1.png", "/security/a.b.html"):
        assert fetch(sample_site + missing).status == 404, missing
