"""Crawls through the sample site's image-captcha gate: the OCR solver gets every item stored,
a solver that keeps failing backs off, a person answers the manual solver with a command."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from crawler.captcha.pending import CaptchaStore
from crawler.store.sqlite import SqliteStore
from tests.crawler.crawl import ROOT, SCRAPY, crawl, scrapy, stat
from tests.crawler.render.support import render_crawl, rules_dir
from tests.dashboard.browser import require_chromium
from tests.sample_site import SampleSite, catalogue
from tests.sample_site.antibot import antibot_middleware
from tests.sample_site.captchas import captcha_png

BOOKS_RULE = """
name: few_books
args: {site: null}
start:
  - {url: "{site}/book/{1..%d}.html", page: book}
pages:
  book:
    fields: {title: {css: "div.product_main h1::text", required: true}}
"""


def test_a_rendered_crawl_through_the_captcha_gate_with_the_ocr_solver_stores_every_item(
    tmp_path,
):
    require_chromium()
    bot = antibot_middleware(ip_limit=0, image_captcha_after=6)
    with SampleSite(books=20, middlewares=[bot]) as site:
        run = render_crawl("sample_js", tmp_path, site.url, "-s", "CAPTCHA_SOLVER=ocr")
    assert run.returncode == 0, run.log[-3000:]
    books = catalogue(20)
    assert sorted(item["title"] for item in run.items) == sorted(
        " ".join(b.title.split()) for b in books
    )
    assert all(item["price"] == float(b.price) for item in run.items for b in books
               if item["_url"].endswith(f"/js/book/{b.id}.html"))  # fmt: skip
    # the site asked again and again; every item went to the store
    assert bot.state.gates > 1 and bot.state.captcha_solved >= 2
    solved = stat(run.log, "captcha/solved")
    assert solved == bot.state.captcha_solved == stat(run.log, "captcha/solved/ocr")
    assert stat(run.log, "captcha/failed") == bot.state.captcha_failed
    with SqliteStore(run.store_uri) as store:
        assert store.count("sample_js") == 20
        [record] = store.runs("sample_js")
    assert record["stats"]["captcha/solved"] == solved  # the run record has them too


def test_a_solver_that_keeps_failing_backs_off_and_its_captchas_become_bans(tmp_path):
    rules = rules_dir(tmp_path, few_books=BOOKS_RULE % 8)
    bot = antibot_middleware(ip_limit=0, image_captcha_after=2)
    solvers = json.dumps({"wrong": "tests.crawler.captcha.solvers.WrongSolver"})
    with SampleSite(books=8, middlewares=[bot]) as site:
        run = crawl(
            "few_books", tmp_path,
            *("-s", f"RULES_DIR={rules}", "-s", f"CAPTCHA_SOLVERS={solvers}"),
            *("-s", "CAPTCHA_SOLVER=wrong", "-s", "CAPTCHA_MAX_FAILURES=3"),
            *("-s", "CAPTCHA_BACKOFF=600", "-s", "BAN_RETRY_TIMES=1", "-s", "BAN_RETRY_DELAY=0.05"),
            *("-s", "CONCURRENT_REQUESTS=1"),
            site=site.url,
        )  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.items) == 2  # the pages before the gate; the others stay locked
    # three wrong answers in a row, then a pause: no more answers sent to the site
    assert stat(run.log, "captcha/failed") == stat(run.log, "captcha/failed/wrong") == 3
    assert bot.state.captcha_failed == 3 and bot.state.captcha_solved == 0
    assert stat(run.log, "captcha/backoffs") == 1
    assert stat(run.log, "captcha/skipped/backoff") >= 1
    assert stat(run.log, "antiban/bans/captcha") >= 1
    assert "pausing it for 600s" in run.log


def test_the_manual_solver_waits_for_an_answer_given_by_the_command(tmp_path):
    rules = rules_dir(tmp_path, few_books=BOOKS_RULE % 3)
    pending = tmp_path / "pending"
    bot = antibot_middleware(ip_limit=0, image_captcha_after=1)
    with SampleSite(books=3, middlewares=[bot]) as site:
        args = [
            "crawl", "few_books", "-a", f"site={site.url}", "-O", str(tmp_path / "out.jsonl"),
            "-s", f"RULES_DIR={rules}", "-s", "CAPTCHA_SOLVER=manual",
            "-s", f"CAPTCHA_MANUAL_DIR={pending}", "-s", "CAPTCHA_MANUAL_POLL=0.1",
            "-s", f"STORE_URI=sqlite:///{tmp_path / 'store.db'}",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log_file = open(tmp_path / "crawl.log", "w")  # noqa: SIM115 (closed below)
        crawl_process = subprocess.Popen(
            [*SCRAPY, *args], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        answered = 0
        deadline = time.monotonic() + 90
        try:
            while crawl_process.poll() is None and time.monotonic() < deadline:
                for captcha in CaptchaStore(pending).pending():
                    image = captcha.image.read_bytes()
                    text = next(t for tok, t in bot.state.captcha_texts.items()
                                if captcha_png(tok) == image)  # fmt: skip
                    done = scrapy("captcha", "answer", captcha.id, text,
                                  "-s", f"CAPTCHA_MANUAL_DIR={pending}")  # fmt: skip
                    assert done.returncode == 0, done.stderr
                    answered += 1
                time.sleep(0.2)
            crawl_process.wait(timeout=30)
        finally:
            if crawl_process.poll() is None:
                crawl_process.kill()
                crawl_process.wait()
            log_file.close()
    log = (tmp_path / "crawl.log").read_text()
    assert crawl_process.returncode == 0, log[-3000:]
    items = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(items) == 3
    assert answered >= 2 and stat(log, "captcha/solved/manual") == answered
    assert bot.state.captcha_solved == answered
    assert list(Path(pending).iterdir()) == []  # answered captchas do not linger


def test_the_ocr_solver_through_the_gate_on_static_pages(tmp_path):
    rules = rules_dir(tmp_path, few_books=BOOKS_RULE % 12)
    bot = antibot_middleware(ip_limit=0, image_captcha_after=3)
    with SampleSite(books=12, middlewares=[bot]) as site:
        run = crawl("few_books", tmp_path, "-s", f"RULES_DIR={rules}", "-s", "CAPTCHA_SOLVER=ocr",
                    site=site.url)  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(i["title"] for i in run.items) == sorted(b.title for b in catalogue(12))
    assert stat(run.log, "captcha/solved") == bot.state.captcha_solved >= 2
