"""Screenshots of every dashboard page, taken in the real browser against the real service:
``python -m tests.dashboard.screenshots docs/screenshots`` (``make screenshots``).

What they show is made the way a user makes it, in a temporary directory: two crawls of the
sample site (the second after some prices changed, so items have versions to compare), a broken
rule in the editor with a preview, a crawl followed live. The proxies page shows a pool written
through the pool's own store (records with made-up latencies; no real proxies are checked),
sampled by the service as it runs. Chinese pages need a CJK font (fonts-noto-cjk, which
.ci/system-deps installs). Every file the crawls and the service keep goes under a temporary
data directory (``CRAWLER_DATA_DIR``), never the project's data/.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

# Before anything reads the data directory: this process's modules and every process it starts.
os.environ.setdefault("CRAWLER_DATA_DIR", tempfile.mkdtemp(prefix="screenshots-data-"))

from aiohttp import web  # noqa: E402

from tests.dashboard.browser import VIEWPORT, chromium  # noqa: E402
from tests.dashboard.service import DIST, NOT_BUILT, Service, Workspace  # noqa: E402
from tests.sample_site import SampleSite  # noqa: E402

PRICE = re.compile(rb"\xc2\xa3(\d+)\.(\d\d)")  # "£12.34" in UTF-8
BOOK = re.compile(r"^/book/(\d+)\.html$")
SOURCES = ("free-list", "paid-pool")
MONITORS = "monitors:\n  min_items: 10\n  max_ban_rate: 0.1\n  finish_reasons: [finished]\n"


def price_changes(state: dict[str, bool]):
    """A sample-site middleware: while ``state["bump"]``, every fifth book costs £1 more."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        response = await handler(request)
        match = BOOK.match(request.path)
        if not (state["bump"] and match and int(match.group(1)) % 5 == 0):
            return response
        body = PRICE.sub(
            lambda m: b"\xc2\xa3%d.%s" % (int(m.group(1)) + 1, m.group(2)), response.body
        )
        return web.Response(body=body, status=response.status, headers=response.headers)

    return middleware


def fill_pool(workspace: Workspace, step: int) -> None:
    """Write 24 records into the workspace's proxy pool; each ``step`` kills one more."""
    from scrapy.utils.project import get_project_settings

    from proxies.model import Proxy
    from proxies.pool_store import open_pool_store
    from proxies.record import ProxyRecord

    settings = get_project_settings().copy()
    settings.set("PROXY_POOL_STORE", workspace.pool_uri)
    settings.set("PROXY_POOL_DATA_DIR", str(workspace.root / "proxies"))
    store = open_pool_store(settings)
    try:
        now = time.time()
        records = []
        for i in range(24):
            alive = i >= step
            records.append(
                ProxyRecord(
                    proxy=Proxy.parse(f"http://127.0.0.1:{20000 + i}", source=SOURCES[i % 2]),
                    latency=0.04 + (i % 7) * 0.09 + (i % 3) * 0.3,
                    alive=alive,
                    checks=10 + i,
                    successes=8 + i if alive else 3,
                    failures=2 if alive else 7 + i,
                    checked_at=now,
                    benched_until=now + 60 if i % 11 == 0 else 0.0,
                )
            )
        store.save(records)
        store.flush()
    finally:
        store.close()


def shoot(page, path: Path, *, full: bool = True) -> None:
    page.wait_for_timeout(400)  # let charts settle
    page.screenshot(path=str(path), full_page=full)
    print(f"wrote {path}")


def main(out: Path) -> None:
    assert (DIST / "index.html").exists(), NOT_BUILT
    out.mkdir(parents=True, exist_ok=True)
    state = {"bump": False}
    with (
        tempfile.TemporaryDirectory() as tmp,
        SampleSite(books=60, middlewares=[price_changes(state)]) as site,
    ):
        root = Path(tmp)
        workspace = Workspace(root, site.url)
        workspace.sample_rule("sample_books")
        os.environ.setdefault(
            "PROXY_POOL_KEY_SECRET", secrets.token_hex(32)
        )  # ours and the service's
        fill_pool(workspace, 0)
        for bump in (False, True):
            state["bump"] = bump
            result = workspace.crawl("sample_books")
            assert result.returncode == 0, result.log[-2000:]
        settings = ["-s", "SERVICE_PROXY_SAMPLE_INTERVAL=1", "-s", "SERVICE_EVENTS_POLL=0.2"]
        settings += ["-s", "LOGSTATS_INTERVAL=1"]
        with Service(workspace, *settings) as service, chromium() as browser:
            for step in range(1, 8):  # the service samples the pool once a second
                fill_pool(workspace, step)
                time.sleep(1.1)
            context = browser.new_context(viewport=VIEWPORT, locale="en-US")
            page = context.new_page()
            page.goto(service.url + "/")
            page.locator("#runs-table").wait_for()
            shoot(page, out / "overview.png")

            page.goto(service.url + "/#/items/sample_books")
            page.locator("#items-table").wait_for()
            page.locator("#items-table tbody tr button").nth(2).click()
            for i in range(page.locator("#items-table tbody tr").count()):
                page.locator("#items-table tbody tr button").nth(i).click()
                page.locator("#item-detail h2").wait_for()
                if page.locator("#item-diff table").count():
                    break
            shoot(page, out / "items.png", full=False)
            page.goto(service.url + "/#/items/sample_books?view=dead")
            page.locator("#dead-groups, main p.muted").first.wait_for()
            shoot(page, out / "dead-letters.png", full=False)

            text = (workspace.rules / "sample_books.yaml").read_text(encoding="utf-8")
            workspace.add_rule(
                "sample_draft",
                text.replace("h3 a", "h3 a[", 1).replace(
                    "name: sample_books", "name: sample_draft"
                ),
            )
            page.goto(service.url + "/#/rules/sample_draft")
            page.locator("#token").fill(service.token)
            page.locator("#token").press("Enter")
            page.locator("#problems li").first.wait_for()
            page.locator("#problems li button").first.click()
            shoot(page, out / "editor.png", full=False)
            page.keyboard.press("End")  # the typo is the line's last character
            page.keyboard.press("Backspace")
            page.locator("#verdict.ok").wait_for()
            page.locator("#preview-url").fill(f"{site.url}/book/5.html")
            page.locator("#preview-args").fill(f"site={site.url}")
            page.get_by_role("button", name="Preview", exact=True).click()
            page.locator("#preview-result table").first.wait_for(timeout=60_000)
            shoot(page, out / "editor-preview.png", full=False)

            with SampleSite(books=60, latency=0.15) as slow:
                workspace.add_rule(
                    "sample_slow",
                    text.replace(site.url, slow.url).replace(
                        "name: sample_books", "name: sample_slow"
                    )
                    + "settings:\n  CONCURRENT_REQUESTS: 1\n"
                    + MONITORS,
                )
                run_id = service.post("/api/rules/sample_slow/run", {"args": {}})["run_id"]
                page.goto(f"{service.url}/#/runs/{run_id}")
                page.locator('#counters [data-counter="pages"] dd').filter(
                    has_text=re.compile(r"^[1-9]\d+$")
                ).wait_for(timeout=60_000)
                shoot(page, out / "run-live.png", full=False)
                service.wait_run(run_id)
                page.locator("#monitors li").first.wait_for(timeout=30_000)
                page.locator("#log").evaluate("box => box.scrollTop = box.scrollHeight")
                shoot(page, out / "run.png")

            page.goto(service.url + "/#/proxies?hours=1")
            page.locator("#health-chart svg, main .notice").first.wait_for()
            shoot(page, out / "proxies.png")

            zh = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            page = zh.new_page()
            page.goto(service.url + "/")
            page.locator("#runs-table").wait_for()
            shoot(page, out / "overview-zh.png", full=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    main(parser.parse_args().out)
    sys.exit(0)
