"""Rendering in a real headless Chromium (Debian's), through ``scrapy crawl`` in a subprocess,
on the sample site's pages that need JavaScript."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawler.crawl import stat
from tests.crawler.render.support import RequestLog, render_crawl, rules_dir
from tests.dashboard.browser import require_chromium
from tests.sample_site import SampleSite, catalogue

BOOKS = 24  # two script-filled list pages of 20

pytestmark = pytest.mark.usefixtures("chromium")


@pytest.fixture(scope="module")
def chromium() -> None:
    require_chromium()


@pytest.fixture(scope="module")
def logged() -> RequestLog:
    return RequestLog()


@pytest.fixture(scope="module")
def site(logged: RequestLog) -> Iterator[str]:
    with SampleSite(books=BOOKS, middlewares=[logged.middleware]) as running:
        assert running.url is not None
        yield running.url


def by_url(items: list[dict]) -> dict[str, dict]:
    return {item["_url"]: item for item in items}


def test_script_filled_list_and_xhr_prices_are_extracted_from_the_rendered_page(
    site, logged, tmp_path
):
    static = urllib.request.urlopen(f"{site}/js/list/").read().decode()
    assert "<article" not in static.split("<script>")[0]  # nothing to extract without a browser
    logged.clear()
    run = render_crawl("sample_js", tmp_path, site)
    assert run.returncode == 0, run.log[-3000:]
    items = by_url(run.items)
    assert len(items) == BOOKS
    for book in catalogue(BOOKS):
        item = items[f"{site}/js/book/{book.id}.html"]
        assert item["title"] == " ".join(book.title.split())
        assert item["price"] == float(book.price)  # from the captured XHR JSON
        assert item["currency"] == "GBP"
        assert item["price_shown"] == float(book.price)  # from the DOM the script changed
        assert item["stock"] == book.stock
    # two list pages (the script adds the next link), every page rendered, its XHR captured
    assert stat(run.log, "rule/pages/list") == 2 and stat(run.log, "render/pages") == BOOKS + 2
    assert stat(run.log, "render/captured") == BOOKS
    assert stat(run.log, "item_scraped_count") == BOOKS
    # block: [image] on every page: the banner was never fetched
    assert "/js/banner.png" not in logged.paths()
    assert stat(run.log, "render/blocked") == BOOKS + 2
    # screenshot: true on the list pages, saved where RENDER_SCREENSHOT_DIR says
    shots = sorted((tmp_path / "shots" / "sample_js").glob("*.png"))
    assert len(shots) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in shots)


def test_infinite_scroll_until_the_end_read_from_captured_json(site, logged, tmp_path):
    logged.clear()
    run = render_crawl("sample_js_scroll", tmp_path, site)
    assert run.returncode == 0, run.log[-3000:]
    assert [item["id"] for item in run.items] == list(range(1, BOOKS + 1))
    first = catalogue(BOOKS)[0]
    assert run.items[0]["title"] == first.title and run.items[0]["url"] == f"{site}{first.url}"
    # one rendered page, three batches of ten fetched while scrolling, all captured
    assert logged.paths().count("/api/books") == 3
    assert stat(run.log, "render/captured") == 3


def test_load_more_clicked_until_the_button_is_gone_on_a_rendered_start(site, tmp_path):
    run = render_crawl("sample_js_more", tmp_path, site)
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(item["id"] for item in run.items) == list(range(1, BOOKS + 1))
    assert {item["title"] for item in run.items} == {b.title for b in catalogue(BOOKS)}
    assert stat(run.log, "render/pages") == 1


OPTIONS_RULE = """
name: options
args: {site: null}
item: {key: id}
start:
  - {url: "{site}/js/scroll/", page: scrolled}
  - {url: "{site}/js/more/", page: clicked}
  - {url: "{site}/js/book/7.html", page: idle}
pages:
  scrolled:
    item: {collection: scrolled}
    render:
      actions: [{scroll: 1}]
    rows:
      css: article.book
      fields: {id: {xpath: "@data-id", clean: [to_int]}}
  clicked:
    item: {collection: clicked}
    render:
      actions:
        - wait_for: "article.book"
        - click: {selector: "#load-more", times: 1, pause: 0.1s}
        - wait: 0.2s
    rows:
      css: article.book
      fields: {id: {xpath: "@data-id", clean: [to_int]}}
  idle:
    item: {collection: idle, key: url}
    render: {wait_until: networkidle, max_wait: 20s}
    fields:
      price: {css: p.price_color::text, clean: [{price: {field: amount}}]}
      ua: {xpath: "//body/@data-ua"}
"""


def test_scroll_and_click_a_given_number_of_times_waits_and_network_idle(site, tmp_path):
    rules = rules_dir(tmp_path, options=OPTIONS_RULE)
    run = render_crawl("options", tmp_path, site, "-s", f"RULES_DIR={rules}")
    assert run.returncode == 0, run.log[-3000:]
    pages: dict[str, list] = {}
    for item in run.items:
        pages.setdefault(item["_page"], []).append(item)
    # ten at first, ten more per scroll or click: one of each gives twenty, not all of them
    assert sorted(i["id"] for i in pages["scrolled"]) == list(range(1, 21))
    assert sorted(i["id"] for i in pages["clicked"]) == list(range(1, 21))
    book = catalogue(BOOKS)[6]
    assert pages["idle"][0]["price"] == float(book.price)  # the XHR had landed: network idle
    assert stat(run.log, "render/pages") == 3


NEVER_RULE = """
name: never
args: {site: null}
start:
  - {url: "{site}/js/never/", page: waits}
  - {url: "{site}/js/never/?again", page: idles}
  - {url: "{site}/js/book/2.html", page: book}
pages:
  waits:
    render: {wait_for: ".never", max_wait: 6s}
    fields: {title: {css: h1::text}}
  idles:
    render: {wait_until: networkidle, max_wait: 4s}
    fields: {title: {css: h1::text}}
  book:
    render: {wait_for: ".price_color[data-currency]"}
    fields: {title: {css: h1::text}}
"""


def test_a_page_that_never_settles_is_an_error_with_its_reason_and_the_crawl_goes_on(
    site, tmp_path
):
    rules = rules_dir(tmp_path, never=NEVER_RULE)
    run = render_crawl("never", tmp_path, site, "-s", f"RULES_DIR={rules}")
    assert run.returncode == 0, run.log[-3000:]
    assert [item["_page"] for item in run.items] == ["book"]
    assert stat(run.log, "render/errors") == 2
    assert stat(run.log, "render/errors/wait_for") == 1  # its selector never came
    assert stat(run.log, "render/errors/navigation") == 1  # /js/hang kept the network busy
    assert stat(run.log, "rule/request_errors/RenderTimeoutError") == 2
    assert "rendering failed (wait_for)" in run.log
    assert "Traceback" not in run.log


def test_contexts_are_bounded_closed_when_idle_and_recycled(site, tmp_path):
    # three sessions (three identities) and room for two contexts: the idle one makes room
    run = render_crawl(
        "sample_js", tmp_path / "lru", site, "-s", "SESSION_COUNT=3", "-s", "RENDER_MAX_CONTEXTS=2"
    )
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.items) == BOOKS
    assert stat(run.log, "playwright/context_count/max_concurrent") <= 2
    assert stat(run.log, "render/contexts/closed/lru") >= 1
    # one identity, a context made anew every four pages (after its pages are done)
    run = render_crawl("sample_js", tmp_path / "recycled", site, "-s", "RENDER_CONTEXT_MAX_PAGES=4")
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.items) == BOOKS
    assert stat(run.log, "render/contexts/closed/recycled") >= (BOOKS + 2) // 4 - 1
    assert stat(run.log, "playwright/context_count") >= (BOOKS + 2) // 4


def test_preview_shows_the_rendered_fields_saves_the_screenshot_and_an_offline_fixture(
    site, tmp_path
):
    from tests.crawler.crawl import scrapy

    rules = rules_dir(tmp_path)
    (rules / "sample_js.yaml").write_text(
        (Path(__file__).parents[3] / "rules" / "sample_js.yaml").read_text(), encoding="utf-8"
    )
    shot = tmp_path / "book.png"
    url = f"{site}/js/book/4.html"
    settings = ["-s", f"RULES_DIR={rules}"]
    proc = scrapy(
        "preview", "sample_js", url, "-a", f"site={site}", "--save", "--screenshot", str(shot),
        *settings,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = json.loads(proc.stdout)
    book = catalogue(BOOKS)[3]
    assert output["rendered"] is True and output["screenshot"] == str(shot)
    assert output["items"][0]["price"] == float(book.price)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 1000
    [fixture] = (rules / "fixtures" / "sample_js").glob("*.json")
    record = json.loads(fixture.read_text())
    assert record["render_json"] == [{"id": 4, "price": book.price, "currency": "GBP"}]
    assert "data-currency" in fixture.with_suffix(".body").read_text()  # the rendered HTML
    test = scrapy("rules", "test", "sample_js", *settings)  # offline: no browser, no site
    assert test.returncode == 0 and "1 fixture(s), 1 ok" in test.stdout, test.stdout
    # the fixture test fails when the captured JSON says otherwise
    record["render_json"][0]["price"] = "0.01"
    fixture.write_text(json.dumps(record))
    test = scrapy("rules", "test", "sample_js", *settings)
    assert test.returncode == 1 and "items[0].price" in test.stdout


def test_preview_render_flag_renders_a_page_type_that_does_not(site, tmp_path):
    from tests.crawler.crawl import scrapy

    shot = tmp_path / "list.png"
    args = ["preview", "sample_books", f"{site}/js/list/", "--page", "tag_list"]
    static = scrapy(*args, "-a", f"site={site}")
    assert static.returncode == 0 and json.loads(static.stdout)["links"] == []
    proc = scrapy(*args, "-a", f"site={site}", "--render", "--screenshot", str(shot))
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = json.loads(proc.stdout)
    assert output["rendered"] is True and shot.read_bytes()[:4] == b"\x89PNG"
    expected = [f"{site}/js/book/{book.id}.html" for book in catalogue(BOOKS)[:20]]
    assert [link["url"] for link in output["links"]] == expected
