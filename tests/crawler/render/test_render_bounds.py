"""The browser's memory and screenshots, bounded (issue 21): a page that grows forever, rendered
with a full-page screenshot, took a crawl's process tree to 4.6 GB in 60 s."""

from __future__ import annotations

import os
import struct
import subprocess
import threading
import time

import pytest

from crawler.render.processes import tree_pss, tree_rss
from tests.crawler import crawl as crawl_module
from tests.crawler.crawl import stat
from tests.crawler.render.hostile import html, servers
from tests.crawler.render.support import rules_dir
from tests.dashboard.browser import require_chromium

pytestmark = pytest.mark.usefixtures("chromium")

MIB = 1024 * 1024
MEMORY_MAX_MB = 400  # RENDER_MEMORY_MAX_MB of the crawl: the browser's processes, in PSS
# The whole tree of the crawl (its Python process included: ~150 MB) stays under this PSS, and
# under TREE_RSS_MAX_MB of summed RSS (which counts Chromium's shared pages once per process).
TREE_PSS_MAX_MB = MEMORY_MAX_MB + 350
TREE_RSS_MAX_MB = 2500

# ~8 MB of numbers and 400 elements every 50 ms (~160 MB/s) until the page is closed; the
# screenshot waits for it at the end of its 20 s.
GROWING = """
<p id="marker">growing</p>
<script>
  const keep = [];
  setInterval(() => {
    keep.push(new Float64Array(1024 * 1024).fill(Math.random()));
    for (let i = 0; i < 400; i++) {
      const d = document.createElement("div");
      d.textContent = "row " + keep.length + " " + i;
      document.body.appendChild(d);
    }
  }, 50);
</script>
"""

RULE = """\
name: grows
args: {site: null}
item: {collection: grows}
start:
  - url: "{site}/%s"
    page: page
pages:
  page:
    render:
      actions: [{wait: %s}]
      screenshot: true
    fields:
      marker: {css: "#marker::text"}
"""


@pytest.fixture(scope="module")
def chromium() -> None:
    require_chromium()


def scrapy_crawl(tmp_path, rule: str, site: str, *settings: str) -> subprocess.Popen:
    rules = rules_dir(tmp_path, grows=rule)
    args = ["crawl", "grows", "-a", f"site={site}", "-O", str(tmp_path / "items.jsonl")]
    for setting in (
        f"RULES_DIR={rules}",
        f"STORE_URI=sqlite:///{tmp_path / 'store.db'}",
        f"STORE_SPILL_DIR={tmp_path / 'spill'}",
        f"RENDER_SCREENSHOT_DIR={tmp_path / 'shots'}",
        f"RUN_LOG_DIR={tmp_path / 'runs'}",
        "INCREMENTAL_STATE_URI=",
        "LOG_LEVEL=INFO",
        *settings,
    ):
        args += ["-s", setting]
    return subprocess.Popen(
        [*crawl_module.SCRAPY, *args],
        cwd=crawl_module.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(crawl_module.ROOT)},
    )


def test_a_page_that_grows_forever_stays_under_the_memory_bound(tmp_path):
    with servers({"/grow.html": html(GROWING)}, {}) as (site, _):
        proc = scrapy_crawl(
            tmp_path, RULE % ("grow.html", "20s"), site.url,
            f"RENDER_MEMORY_MAX_MB={MEMORY_MAX_MB}", "RENDER_MAX_WAIT=40",
        )  # fmt: skip
        peak = {"pss": 0, "rss": 0}

        def measure() -> None:
            while proc.poll() is None:  # bounded: the crawl ends (timeout below)
                peak["pss"] = max(peak["pss"], tree_pss(proc.pid))
                peak["rss"] = max(peak["rss"], tree_rss(proc.pid))
                time.sleep(0.05)

        watcher = threading.Thread(target=measure, daemon=True)
        watcher.start()
        started = time.monotonic()
        try:
            log, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            log, _ = proc.communicate()
            pytest.fail(f"the crawl did not end in 120 s:\n{log[-4000:]}")
        elapsed = time.monotonic() - started
        watcher.join(5)
    print(f"peak tree PSS {peak['pss'] // MIB} MiB, RSS {peak['rss'] // MIB} MiB, {elapsed:.1f}s")
    # The page grew past the bound, was closed, and the crawl said why, once, and went on.
    assert stat(log, "render/errors/memory") == 1, log[-3000:]
    assert stat(log, "render/memory/closed") >= 1
    assert log.count("over RENDER_MEMORY_MAX_MB=400: closing 1 page(s)") == 1
    assert stat(log, "item_scraped_count") == 0
    assert elapsed < 20  # failed long before its 20 s wait and its screenshot
    assert peak["pss"] < TREE_PSS_MAX_MB * MIB, peak
    assert peak["rss"] < TREE_RSS_MAX_MB * MIB, peak


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_a_very_tall_page_gives_a_screenshot_cut_to_the_bound(tmp_path):
    tall = html('<p id="marker">tall</p><div style="height: 60000px; width: 5000px"></div>')
    with servers({"/tall.html": tall}, {}) as (site, _):
        proc = scrapy_crawl(
            tmp_path, RULE % ("tall.html", "0.1s"), site.url, "RENDER_SCREENSHOT_MAX_HEIGHT=3000"
        )
        log, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, log[-3000:]
    shots = list((tmp_path / "shots" / "grows").glob("*.png"))
    assert len(shots) == 1
    assert png_size(shots[0].read_bytes()) == (2048, 3000)  # width cut to 2048 too
    assert stat(log, "render/screenshots/clipped") == 1
