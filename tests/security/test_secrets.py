"""Secret values (a secret ``-a`` argument, an environment variable a rule refers to) never
reach the log (DEBUG included), items, stats, the run record, preview output or a saved
fixture."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from tests.crawler.crawl import ROOT, scrapy

SECRET_ARG = "Sk-9f2/Ab@c:d%e"  # characters a URL must encode
SECRET_ENV = "env-T0ken-0451"

RULE = """\
args:
  site: null
  api_key: null                      # secret: its name says key
  shop_id: {default: "1", secret: false}
headers: {X-Token: "${SHOP_TOKEN}"}
start:
  - url: "{site}/book/3.html?key={api_key}&shop={shop_id}"
    page: book
pages:
  book:
    match: /book/
    fields:
      title: {css: "div.product_main h1::text", required: true}
      page_url: {value: "see _url"}
"""


def rules_with_rule(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    (rules / "secretive.yaml").write_text(RULE)
    return rules


def assert_secret_free(text: str, where: str) -> None:
    for secret in (SECRET_ARG, SECRET_ENV, "Sk-9f2%2FAb%40c%3Ad%25e"):
        assert secret not in text, f"a secret reached {where}"


def test_a_crawl_keeps_secrets_out_of_logs_items_stats_and_the_run_record(sample_site, tmp_path):
    rules = rules_with_rule(tmp_path)
    store = tmp_path / "store.db"
    out = tmp_path / "items.jsonl"
    proc = scrapy(
        "crawl",
        "secretive",
        "-a",
        f"site={sample_site}",
        "-a",
        f"api_key={SECRET_ARG}",
        "-O",
        str(out),
        "-s",
        f"RULES_DIR={rules}",
        "-s",
        f"STORE_URI=sqlite:///{store}",
        "-s",
        f"STORE_SPILL_DIR={tmp_path / 'spill'}",
        "-s",
        "LOG_LEVEL=DEBUG",
        env={"SHOP_TOKEN": SECRET_ENV},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Crawled (200)" in proc.stderr and "key=***" in proc.stderr  # the line is there, masked
    assert_secret_free(proc.stderr + proc.stdout, "the log")
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert items and items[0]["title"] and "key=***" in items[0]["_url"]
    assert_secret_free(out.read_text(), "the items")
    with sqlite3.connect(store) as db:
        dump = "\n".join(
            str(row) for table in ("_runs",) for row in db.execute(f"SELECT * FROM {table}")
        )
        stored = "\n".join(str(row) for row in db.iterdump())
    assert dump, "no run record"
    assert_secret_free(stored, "the store (items, run record, stats)")


def test_preview_output_and_saved_fixture_hold_no_secret(sample_site, tmp_path):
    rules = rules_with_rule(tmp_path)
    url = f"{sample_site}/book/3.html?key={SECRET_ARG}&shop=1"
    proc = scrapy(
        "preview",
        "secretive",
        url,
        "--save",
        "-a",
        f"site={sample_site}",
        "-a",
        f"api_key={SECRET_ARG}",
        "-s",
        f"RULES_DIR={rules}",
        env={"SHOP_TOKEN": SECRET_ENV},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"title":' in proc.stdout
    assert_secret_free(proc.stdout + proc.stderr, "preview output")
    fixtures = list((rules / "fixtures" / "secretive").glob("*.json"))
    assert len(fixtures) == 1
    assert_secret_free(fixtures[0].read_text(), "the fixture")
    assert json.loads(fixtures[0].read_text())["args"]["api_key"] == "***"
