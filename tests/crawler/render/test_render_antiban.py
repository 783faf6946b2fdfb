"""The browser and the anti-ban middlewares agree: a rendered page goes out through the proxy the
proxy middleware chose (a real tinyproxy on loopback) and presents the user agent the user-agent
middleware gave that proxy, in its headers and to the page's scripts, like the static requests
of the same crawl."""

from __future__ import annotations

from collections import Counter

from tests.crawler.antiban.support import TinyProxy, require_tinyproxy
from tests.crawler.crawl import stat
from tests.crawler.render.support import RequestLog, render_crawl, rules_dir
from tests.dashboard.browser import require_chromium
from tests.sample_site import SampleSite, catalogue

COHERENT_RULE = """
name: coherent
args: {site: null}
start:
  - {url: "{site}/tag/travel/", page: tag}
  - {url: "{site}/js/list/", page: list}
pages:
  tag:
    rows: {css: article.book, emit: false, links: [{css: h3 a, to: static_book}]}
  static_book:
    fields: {title: {css: "div.product_main h1::text"}}
  list:
    render: {wait_for: article.book}
    rows: {css: article.book, emit: false, links: [{css: h3 a, to: js_book}]}
  js_book:
    render: {wait_for: ".price_color[data-currency]", capture: /api/price/}
    fields:
      title: {css: "div.product_main h1::text"}
      price: {json: "[0].price"}
      ua: {xpath: "//body/@data-ua"}
"""


def test_rendered_and_static_requests_share_the_proxy_and_the_user_agent(tmp_path):
    require_chromium()
    require_tinyproxy()
    log = RequestLog()
    proxy = TinyProxy(bind="127.0.0.23", workdir=tmp_path).start()
    try:
        with SampleSite(books=10, middlewares=[log.middleware]) as site:
            rules = rules_dir(tmp_path, coherent=COHERENT_RULE)
            run = render_crawl(
                "coherent", tmp_path, site.url,
                *("-s", f"RULES_DIR={rules}", "-s", f"PROXY_LIST={proxy.url}"),
                *("-s", "USER_AGENT_SEED=3"),
            )  # fmt: skip
    finally:
        proxy.stop()
    assert run.returncode == 0, run.log[-3000:]
    books = catalogue(10)
    travel = [b for b in books if b.tag == "travel"]
    by_page = Counter(item["_page"] for item in run.items)
    assert by_page == {"static_book": len(travel), "js_book": len(books)}
    seen = log.seen
    paths = {s.path for s in seen}
    assert {"/tag/travel/", "/book/1.html", "/js/list/", "/api/books", "/api/price/1"} <= paths
    # everything went through tinyproxy: the site saw its address, never ours
    assert {s.remote for s in seen} == {"127.0.0.23"}
    # one identity (the proxy), one user agent: static pages, rendered pages, their XHR
    agents = {s.agent for s in seen}
    assert len(agents) == 1, agents
    [agent] = agents
    assert "HeadlessChrome" not in agent and agent.startswith("Mozilla/5.0")
    # the page's scripts see it too
    assert {item["ua"] for item in run.items if item["_page"] == "js_book"} == {agent}
    assert all(
        item["price"] == b.price
        for item in run.items
        if item["_page"] == "js_book"
        for b in books
        if item["_url"].endswith(f"/js/book/{b.id}.html")
    )
    rendered = stat(run.log, "render/pages")
    assert rendered == 1 + len(books)
    assert stat(run.log, "antiban/proxy/requests") == stat(run.log, "downloader/request_count")
