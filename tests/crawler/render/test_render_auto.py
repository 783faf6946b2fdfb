"""``render: auto`` in a real crawl: static first, rendered only where the static page misses its
content, remembered per page type (Debian's Chromium, ``scrapy crawl`` in a subprocess)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crawler.crawl import stat
from tests.crawler.render.support import RequestLog, render_crawl, rules_dir
from tests.dashboard.browser import require_chromium
from tests.sample_site import SampleSite, catalogue

BOOKS = 30  # /js/mixed/10.html, 20 and 30 get their price by script

RULE = """
name: auto
args: {{site: null}}
settings: {{CONCURRENT_REQUESTS: {concurrency}, RENDER_AUTO_SWITCH_AFTER: 3}}
start:
  - url: "{{site}}/js/{kind}/{{1..{count}}}.html"
    page: book
pages:
  book:
    render: {render}
    fields:
      title: {{css: "div.product_main h1::text", required: true}}
      price: {{css: "p.price_color::text", required: true, clean: [{{price: {{field: amount}}}}]}}
"""


@pytest.fixture(scope="module")
def logged() -> RequestLog:
    require_chromium()
    return RequestLog()


@pytest.fixture(scope="module")
def site(logged: RequestLog) -> Iterator[str]:
    with SampleSite(books=BOOKS, middlewares=[logged.middleware]) as running:
        assert running.url is not None
        yield running.url


def test_only_pages_whose_static_response_misses_a_required_field_are_rendered(
    site, logged, tmp_path
):
    rule = RULE.format(kind="mixed", count=BOOKS, render="auto", concurrency=8)
    rules = rules_dir(tmp_path, auto=rule)
    logged.clear()
    run = render_crawl("auto", tmp_path, site, "-s", f"RULES_DIR={rules}")
    assert run.returncode == 0, run.log[-3000:]
    prices = {item["_url"]: item["price"] for item in run.items}
    assert prices == {
        f"{site}/js/mixed/{b.id}.html": float(b.price) for b in catalogue(BOOKS)
    }  # every item, priced
    assert stat(run.log, "render/auto/static") == 27
    assert stat(run.log, "render/auto/fallbacks") == 3
    assert stat(run.log, "render/auto/misses/required") == 3
    assert stat(run.log, "render/auto/rendered") == stat(run.log, "render/pages") == 3
    assert stat(run.log, "render/auto/render_first") == 0  # one miss in ten: static first
    # only the three scripted pages ran their script (their price came by XHR)
    assert sorted(p for p in logged.paths() if p.startswith("/api/price/")) == [
        "/api/price/10", "/api/price/20", "/api/price/30"
    ]  # fmt: skip
    assert stat(run.log, "item_scraped_count") == BOOKS


def test_a_type_whose_static_pages_keep_missing_renders_first_and_is_rechecked(
    site, logged, tmp_path
):
    render = "{when: auto, recheck: 3, wait_for: '.price_color[data-currency]'}"
    rule = RULE.format(kind="book", count=8, render=render, concurrency=1)
    rules = rules_dir(tmp_path, auto=rule)
    logged.clear()
    run = render_crawl("auto", tmp_path, site, "-s", f"RULES_DIR={rules}")
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(item["_url"] for item in run.items) == sorted(
        f"{site}/js/book/{n}.html" for n in range(1, 9)
    )
    assert all(item["price"] for item in run.items)
    # three static misses in a row, then rendering first with one page in 3 tried static
    assert stat(run.log, "render/auto/render_first") == 1
    rechecks = stat(run.log, "render/auto/rechecks")
    assert rechecks and 1 <= rechecks <= 2
    assert stat(run.log, "render/auto/fallbacks") == 3 + rechecks
    assert stat(run.log, "render/auto/rendered") == 8
    assert stat(run.log, "render/auto/static") == 0
    assert "rendering first, one page in 3 tried static" in run.log
