"""Tabs reused by the successive rendered requests of a context (crawler.render.tab): a reused
tab is still guarded (its route in front of scrapy-playwright's, which that library makes anew
for each request) and blocks what its page type blocks, and the next page sees nothing the
previous one left in the tab (session storage, window.name, history)."""

from __future__ import annotations

from tests.crawler.crawl import stat
from tests.crawler.render.hostile import html, servers
from tests.crawler.render.support import render_crawl, rules_dir
from tests.dashboard.browser import require_chromium

RULE = """\
name: tabs
args: {site: null}
item: {collection: tabs}
start:
  - url: "{site}/t/1.html"
    page: page
pages:
  page:
    render: {wait_for: "#seen[data-done]", block: [image]}
    links:
      - {css: a.next, to: page}
    fields:
      seen: {css: "#seen::text"}
"""

# What the page finds in its tab, then what it leaves there for the next page: session
# storage, its name, history entries; and what it tries to fetch (an image of its own site,
# blocked by its page type; the other service, refused by the guard).
PAGE = """
<p id="seen"></p>{link}
<img src="/t/pic.png">
<script>
  const seen = [sessionStorage.getItem("left") || "-", window.name || "-", history.length];
  sessionStorage.setItem("left", location.pathname);
  window.name = location.pathname;
  history.pushState({}, "", "#a");
  history.pushState({}, "", "#b");
  fetch("{other}/leak").catch(() => {});
  const p = document.getElementById("seen");
  p.textContent = seen.join(" ");
  p.dataset.done = "1";
</script>
"""


def test_a_reused_tab_is_guarded_and_shows_nothing_of_the_page_before(tmp_path):
    require_chromium()
    pages = {
        "/t/1.html": html(PAGE.replace("{link}", '<a class="next" href="/t/2.html">next</a>')),
        "/t/2.html": html(PAGE.replace("{link}", "")),
    }
    with servers(pages, {}) as (site, other):
        rules = rules_dir(tmp_path, tabs=RULE)
        run = render_crawl("tabs", tmp_path, site.url, "-s", f"RULES_DIR={rules}", timeout=90)
        served, reached = site.paths(), other.paths()
    assert run.returncode == 0, run.log[-3000:]
    assert stat(run.log, "render/tabs/reused") == 1, run.log[-3000:]  # page 2 in page 1's tab
    seen = {item["_url"].split("#")[0].rsplit("/", 1)[1]: item["seen"] for item in run.items}
    assert set(seen) == {"1.html", "2.html"}
    for page, found in seen.items():
        storage, name, length = found.split(" ")
        assert (storage, name) == ("-", "-"), (page, found)
        assert int(length) <= 2, (page, found)  # a fresh tab's history, not page 1's three more
    # The reused tab blocked the image and refused the other service, as the new one did.
    assert "/t/pic.png" not in served and reached == []
    assert stat(run.log, "render/blocked") == 2
    assert stat(run.log, "render/refused/private_address") == 2
