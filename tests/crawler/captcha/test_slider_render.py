"""A rendered crawl behind the sample site's slider gate: the page's own slider dragged in
Chromium (crawler.captcha.drag through crawler.render.page), never the HTTP flow's form."""

from __future__ import annotations

import re

from tests.crawler.crawl import stat
from tests.crawler.render.support import render_crawl, rules_dir
from tests.dashboard.browser import require_chromium
from tests.sample_site import SampleSite, puzzles

RULE = """
name: slider_render
args: {site: null}
start:
  - {url: "{site}/puzzle/slider/", page: index}
pages:
  index:
    render: {stealth: false}
    links:
      - {css: "ul.items li:nth-child(-n+4) a", to: item}  # 5 pages: 2 gates
  item:
    match: /item/
    render: {wait_for: h1.name}
    fields:
      name: {css: "h1.name::text", required: true}
      price: {css: "span.price::text", required: true}
"""


def test_a_rendered_crawl_drags_the_pages_own_slider_and_stores_every_item(tmp_path):
    """The list page waits for nothing: the settled page is judged a captcha. The items wait
    for their name: the ban watch finds the gate while they wait. Either way the drag lets the
    page through in the browser."""
    require_chromium()
    rules = rules_dir(tmp_path, slider_render=RULE)
    before = puzzles.STATS.copy()
    with SampleSite(books=1) as site:
        url = site.url
        run = render_crawl(
            "slider_render", tmp_path, url,
            *("-s", f"RULES_DIR={rules}", "-s", "CAPTCHA_SOLVER=ocr"),
            *("-s", "CONCURRENT_REQUESTS=1", "-s", "LOG_LEVEL=DEBUG"),
        )  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    expected = {puzzles.item_name("slider", n) for n in range(1, 5)}
    assert {item["name"] for item in run.items} == expected, run.log[-3000:]
    solved = puzzles.STATS["slider/solved"] - before["slider/solved"]
    passed = stat(run.log, "captcha/slider/drag_passed")
    # the site asked more than once (a pass is worth a few pages) and the drags let it through;
    # a drag the site refused (a track a loaded machine made jerky) gets a new puzzle, dragged
    # again, and only a page whose drags all missed goes to the HTTP flow
    assert passed >= 2, run.log[-3000:]
    assert passed + stat(run.log, "captcha/slider/solved") == solved
    assert stat(run.log, "captcha/slider/dragged") >= passed
    assert stat(run.log, "captcha/slider/drag_errors") == 0  # every drag was made
    # both ways in: the list page (the first request, always gated) settled on its slider, and
    # item pages were found behind one while they waited
    assert f"slider on {url}/puzzle/slider/ dragged" in run.log, run.log[-3000:]
    assert re.search(rf"slider on {re.escape(url)}/puzzle/slider/item/\d+\.html dragged", run.log)
    assert "Traceback" not in run.log
