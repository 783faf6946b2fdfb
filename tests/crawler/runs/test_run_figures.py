"""One source for every figure a run shows: a real crawl of the sample site with failed requests
(two 404s, and a 500 that Scrapy retries, gives up on and logs an ERROR line for), and list
rows beside detail pages (fields of one page type absent from the other's items), seen through
``scrapy store runs``, the data service's API and the rule's monitors: the same errors, error
rate and coverage per page type everywhere, under the one run id the crawl was given."""

from __future__ import annotations

import re
from pathlib import Path

from crawler.store import open_store
from tests.crawler.crawl import scrapy, store_args
from tests.crawler.runs.cli import table_rows
from tests.crawler.service.conftest import make_service

RULE = """\
name: figures
args: {site: null}
item: {collection: figures_books}
start:
  - {url: "{site}/", page: index}
  - {url: "{site}/error/404", page: index}
  - {url: "{site}/error/500", page: index}
pages:
  index:
    links: [{css: ul.tags a.tag, to: shelf}]
  shelf:
    item: {collection: figures_rows}
    rows:
      css: article.book
      fields:
        url: {css: "h3 a::attr(href)"}
        rating: {css: "p.star-rating::attr(class)"}
      links: [{css: h3 a, to: book}]
    pagination: {next: {css: li.next a}}
  book:
    fields:
      title: {css: "div.product_main h1::text"}
      price: {css: p.price_color::text}
monitors:
  max_error_rate: 0.5
  # title is on book pages only (one of them is broken), rating on the list rows only: merged
  # across the two page types each would be about half, and fail
  min_coverage: {title: 0.9, rating: 1.0}
"""


def cli_row(uri: str, run_id: str) -> dict[str, str]:
    proc = scrapy("store", "runs", "--store", uri)
    assert proc.returncode == 0, proc.stderr
    (row,) = [r for r in table_rows(proc.stdout) if r["run"] == run_id[:8]]
    return row


def test_the_cli_the_api_and_the_monitors_show_the_same_figures(tmp_path, make_sample_site):
    site = make_sample_site(books=10).url
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "figures.yaml").write_text(RULE, encoding="utf-8")
    run_id = "figures-run-1"
    proc = scrapy(
        "crawl", "figures", "-a", f"site={site}", "-s", f"RULES_DIR={rules}",
        "-s", "INCREMENTAL_STATE_URI=", "-s", f"RUN_ID={run_id}", *store_args(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(uri) as store:
        record = store.get_run(run_id)
    assert record is not None and record["run_id"] == run_id
    stats = record["stats"]
    # what happened: three requests failed for good, and the one ERROR line is Scrapy's give-up
    # on the 500 (a failed request already counted, not a second error)
    failed = {k: v for k, v in stats.items() if k.startswith("rule/request_errors/")}
    assert failed == {"rule/request_errors/http_404": 2, "rule/request_errors/http_500": 1}
    assert stats["log_count/ERROR"] == 1 and "ERROR: Gave up retrying" in proc.stderr
    errors = sum(failed.values())

    # the monitor's figure
    results = {r["name"]: r for r in record["monitors"]["results"]}
    monitor = results["max_error_rate"]["figure"]
    assert monitor["errors"] == errors and results["max_error_rate"]["ok"] is True
    # the CLI's
    row = cli_row(uri, run_id)
    assert row["errors"] == str(errors) and row["pages"] == str(monitor["pages"])
    # the API's (and so the dashboard's)
    for service in make_service("sqlite", tmp_path):
        run = service.client.get(f"/api/runs/{run_id}").json()
        listed = service.client.get("/api/runs").json()["items"]
        rules_listed = service.client.get("/api/rules").json()["items"]
    assert run["run_id"] == run_id and run["errors"] == errors
    assert (run["request_errors"], run["spider_exceptions"], run["log_errors"]) == (errors, 0, 0)
    assert run["error_rate"] == monitor["rate"] == round(errors / run["pages"], 4)
    (summary,) = [r for r in listed if r["run_id"] == run_id]
    assert summary["errors"] == errors and summary["error_rate"] == monitor["rate"]
    (rule,) = [r for r in rules_listed if r["name"] == "figures"]
    assert rule["last_run"]["error_rate"] == monitor["rate"]

    # coverage per page type, the same in the record, the API and the monitors' judgement
    coverage = run["coverage"]
    assert coverage == record["coverage"]
    books, shelf = coverage["book"]["fields"], coverage["shelf"]["fields"]
    assert set(books) == {"title", "price"} and set(shelf) == {"url", "rating"}
    assert coverage["book"]["items"] == stats["coverage/book/items"]
    assert books["title"] == round(
        stats["coverage/book/filled/title"] / coverage["book"]["items"], 4
    )
    assert 0.9 <= books["title"] < 1.0  # the sample site's broken book page has none
    assert results["min_coverage/title"] == {
        "name": "min_coverage/title",
        "ok": True,
        "message": "",
        "figure": {"page_types": {"book": books["title"]}},
    }
    assert results["min_coverage/rating"]["figure"] == {"page_types": {"shelf": 1.0}}

    # one id: the record's, the log file's name, and `scrapy store log` finds it
    log_file = Path(record["log_file"])
    assert log_file.name.endswith(f"-{run_id[:8]}.log") and log_file.is_file()
    shown = scrapy("store", "log", run_id, "--store", uri)
    assert shown.returncode == 0 and shown.stdout == log_file.read_text(encoding="utf-8")


def test_a_run_id_that_is_not_one_is_a_usage_error(tmp_path):
    proc = scrapy(
        "crawl", "sample_books", "-a", "site=http://127.0.0.1:9", "-s", "RUN_ID=../../etc",
        *store_args(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "RUN_ID" in x]
    assert re.search(r"RUN_ID '\.\./\.\./etc' is not a run id", line)
