"""Crawls through the sample site's slider and click-the-characters gates, with the local solver
and with a solving service: every item of the guarded section is stored, and each kind is
counted in the stats."""

from __future__ import annotations

import base64

import pytest
from aiohttp import web

from crawler.captcha.click import prompt_targets
from crawler.store.sqlite import SqliteStore
from tests.crawler.captcha.loopback import serving
from tests.crawler.crawl import crawl, stat
from tests.crawler.render.support import rules_dir
from tests.sample_site import SampleSite, puzzles

RULE = """
name: puzzle_items
args: {site: null}
start:
  - {url: "{site}/puzzle/%(kind)s/", page: index}
pages:
  index:
    links:
      - {css: "ul.items a", to: item}
  item:
    match: /item/
    fields:
      name: {css: "h1.name::text", required: true}
      price: {css: "span.price::text", required: true}
"""


@pytest.mark.parametrize("kind", ["slider", "click"])
def test_a_crawl_behind_a_puzzle_gate_stores_every_item_of_its_section(tmp_path, kind):
    rules = rules_dir(tmp_path, puzzle_items=RULE % {"kind": kind})
    before = puzzles.STATS.copy()
    with SampleSite(books=1) as site:
        run = crawl(
            "puzzle_items", tmp_path,
            *("-s", f"RULES_DIR={rules}", "-s", "CAPTCHA_SOLVER=ocr"),
            *("-s", "CONCURRENT_REQUESTS=2"),
            site=site.url,
        )  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    expected = {puzzles.item_name(kind, n) for n in range(1, puzzles.ITEMS + 1)}
    assert {item["name"] for item in run.items} == expected
    with SqliteStore(run.store_uri) as store:
        assert store.count("puzzle_items") == puzzles.ITEMS
    # the site asked more than once (a pass is worth PASS_PAGES pages); each answer counted
    solved = puzzles.STATS[f"{kind}/solved"] - before[f"{kind}/solved"]
    failed = puzzles.STATS[f"{kind}/failed"] - before[f"{kind}/failed"]
    assert solved >= 2
    assert stat(run.log, f"captcha/{kind}/solved") == solved == stat(run.log, "captcha/solved")
    assert stat(run.log, f"captcha/{kind}/failed") == failed
    assert stat(run.log, f"captcha/{kind}/seen") == solved + failed


def test_a_crawl_behind_the_click_gate_with_a_solving_service_stores_every_item(
    tmp_path, monkeypatch
):
    """The service solver inside a crawl: a fake service on 127.0.0.1 that answers a
    CoordinatesTask as a person would (it knows the site's puzzles); its key comes from the
    environment and shows nowhere in the log."""
    key = "svc-key-5e1d7c"
    tasks: list[dict] = []

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clientKey") != key:
            return web.json_response({"errorId": 1, "errorCode": "ERROR_KEY_DOES_NOT_EXIST"})
        tasks.append(body["task"])
        return web.json_response({"errorId": 0, "taskId": len(tasks)})

    async def result(request: web.Request) -> web.Response:
        task = tasks[(await request.json())["taskId"] - 1]
        token = puzzles.issued_token("click", base64.b64decode(task["body"]))
        boxes = puzzles.click_chars(token) if token else {}
        targets = prompt_targets(task.get("comment", ""))
        points = [
            {"x": (boxes[c][0] + boxes[c][2]) / 2, "y": (boxes[c][1] + boxes[c][3]) / 2}
            for c in targets
            if c in boxes
        ]
        return web.json_response(
            {"errorId": 0, "status": "ready", "solution": {"coordinates": points}}
        )

    app = web.Application()
    app.router.add_post("/createTask", create)
    app.router.add_post("/getTaskResult", result)
    rules = rules_dir(tmp_path, puzzle_items=RULE % {"kind": "click"})
    monkeypatch.setenv("CAPTCHA_SERVICE_API_KEY", key)
    before = puzzles.STATS.copy()
    with serving(app) as service, SampleSite(books=1) as site:
        run = crawl(
            "puzzle_items", tmp_path,
            *("-s", f"RULES_DIR={rules}", "-s", "CAPTCHA_SOLVER=service"),
            *("-s", f"CAPTCHA_SERVICE_URL={service}", "-s", "CAPTCHA_SERVICE_POLL=0.05"),
            *("-s", "LOG_LEVEL=DEBUG"),
            site=site.url,
        )  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.items) == puzzles.ITEMS
    solved = puzzles.STATS["click/solved"] - before["click/solved"]
    assert solved >= 2 and stat(run.log, "captcha/solved/service") == solved
    assert len(tasks) == stat(run.log, "captcha/click/seen")
    assert all(t["type"] == "CoordinatesTask" and t["comment"] for t in tasks)
    assert key not in run.log
