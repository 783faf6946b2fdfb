"""Stall detection in a real crawl: a site that answers three pages and then accepts requests
without ever answering. The rule says ``stall: {after: 5s, stop: true}``: the stall alert
reaches a receiver on 127.0.0.1 within the 5 s plus one check, and the crawl stops with status
``stalled`` (exit 9)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from crawler.store import open_store
from tests.crawler.crawl import scrapy, store_args
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread

RULE = """\
name: hangs
args: {site: "http://127.0.0.1:1"}
start: [{url: "{site}/", page: index}]
pages:
  index:
    links: [{css: "a::attr(href)", to: page}]
  page:
    match: /(p|slow)/
    fields: {title: {css: "h1::text", required: true}}
monitors: {stall: {after: 5s, stop: true}}
"""


@dataclass
class HangingSite(HttpReceiver):
    """Three pages answered at once, then pages that never answer (bounded: 30 s)."""

    answered_at: list[float] = field(default_factory=list)
    closing: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        if request.path == "/":
            links = [f'<a href="/p/{i}">p{i}</a>' for i in range(3)]
            links += [f'<a href="/slow/{i}">s{i}</a>' for i in range(4)]
            return web.Response(text="".join(links), content_type="text/html")
        if request.path.startswith("/p/"):
            self.answered_at.append(time.monotonic())
            return web.Response(text=f"<h1>{request.path}</h1>", content_type="text/html")
        for _ in range(150):  # until the test ends, 30 s at most
            if self.closing:
                break
            await asyncio.sleep(0.2)
        return web.Response(text="<h1>late</h1>", content_type="text/html")


@dataclass
class TimedReceiver(HttpReceiver):
    received_at: list[float] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received_at.append(time.monotonic())
        return await super().handle(request)


def test_a_site_that_stops_answering_raises_the_stall_alert_and_stops(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "hangs.yaml").write_text(RULE, encoding="utf-8")
    site_server, alert_server = ServerThread(HangingSite()), ServerThread(TimedReceiver())
    site, receiver = site_server.start(), alert_server.start()
    try:
        started = time.monotonic()
        result = scrapy(
            "crawl", "hangs", "-a", f"site={site.url}",
            *store_args(tmp_path),
            "-s", f"RULES_DIR={rules}",
            "-s", f"ALERTS_STATE={tmp_path / 'alerts.sqlite'}",
            "-s", "MONITORS_ALERTS=webhook",
            "-s", "DOWNLOAD_TIMEOUT=8",
            "-s", "RETRY_ENABLED=False",
            env={"ALERT_WEBHOOK_URL": f"{receiver.url}/hook"},
            timeout=90,
        )  # fmt: skip
        took = time.monotonic() - started
    finally:
        site.closing = True
        alert_server.stop()
        site_server.stop()
    assert result.returncode == 9, result.stderr[-3000:]
    assert "The crawl is stalled: no page or item for" in result.stderr
    [alert] = [r.json for r in receiver.requests]
    assert alert["event"] == "stalled" and alert["subject"] == "hangs" and alert["stopping"]
    assert alert["checks"] == ["stall"] and "stall after 5 s" in alert["lines"][0]
    # detected within the configured 5 s plus one check (a second here) after the last page,
    # and delivered (a thread, the desk's state, a POST) within seconds on a busy machine
    late = receiver.received_at[0] - max(site.answered_at)
    assert 5.0 <= late <= 5.0 + 1.0 + 3.0, late
    assert took < 40  # stopped: the requests in flight ended within DOWNLOAD_TIMEOUT
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        record = store.runs(rule="hangs", limit=1)[0]
    assert record["status"] == "stalled" and record["exit_code"] == 9
    assert record["stats"]["stall/detected"] == 1
    assert 5.0 <= record["stats"]["stall/idle_seconds"] <= 5.0 + 1.0 + 0.5
    assert "no page or item for" in record["status_reason"]
