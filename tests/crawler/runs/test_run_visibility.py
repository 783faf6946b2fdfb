"""What a crawl tells while it runs and keeps when it ends, seen as a user sees it: field
coverage and its warnings, the progress line, a running crawl in ``scrapy store runs``, and
its log through ``scrapy store log [--follow]``."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from crawler.store import open_store
from tests.crawler.crawl import ROOT, SCRAPY, scrapy, store_args

BROKEN_SELECTORS = """\
args: {site: null}
item: {collection: shelf}
start: [{url: "{site}/tag/travel/", page: list}]
pages:
  list:
    rows:
      css: article.book
      emit: false
      links: [{css: h3 a, to: book}]
  book:
    fields:
      title: {css: "h1.no-such-title::text", required: true}
      price: {css: p.price_color::text}
      author: {css: "span.no-such-author::text"}
"""


def test_coverage_warns_of_empty_fields_and_page_types_lost_to_dead_letters(sample_site, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "shelf.yaml").write_text(BROKEN_SELECTORS)
    proc = scrapy(
        "crawl", "shelf", "-a", f"site={sample_site}", "-s", f"RULES_DIR={rules}",
        *store_args(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = re.findall(r"WARNING: (.*)", proc.stderr)
    empty = [w for w in warnings if w.startswith("Field(s)")]
    assert len(empty) == 1, warnings
    assert "'author'" in empty[0] and "'title'" in empty[0] and "'price'" not in empty[0]
    assert "of page type 'book' were empty in all 10 item(s)" in empty[0]
    (dead,) = [w for w in warnings if w.startswith("All ")]
    assert "All 10 item(s) of page type 'book' went to the dead letters" in dead
    assert "title: required field is empty: 10" in dead
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        (run,) = store.runs()
    assert run["coverage"]["book"] == {
        "items": 10,
        "item_type": None,
        "fields": {"author": 0.0, "price": 1.0, "title": 0.0},
    }
    assert set(run["coverage"]) == {"book"}  # the list rows emit no items
    assert run["stats"]["coverage/book/share/price"] == 1.0


def start_crawl(site: str, tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*SCRAPY, "crawl", "sample_books", "-a", f"site={site}", *store_args(tmp_path), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_progress_lines_live_run_records_and_the_kept_log(make_sample_site, tmp_path):
    site = make_sample_site(books=30, latency=0.25).url
    fast = ["-s", "PROGRESS_INTERVAL=0.5", "-s", "RUN_UPDATE_INTERVAL=0.5"]
    store = ["--store", f"sqlite:///{tmp_path / 'store.db'}"]

    # one page at a time: about 10 s, so the run is seen running even when each `scrapy store
    # runs` takes a second or two on a loaded machine (CI once saw it only finished)
    crawl = start_crawl(site, tmp_path, *fast, "-s", "CONCURRENT_REQUESTS=1")
    running = None
    deadline = time.monotonic() + 60
    while running is None:
        assert time.monotonic() < deadline and crawl.poll() is None, crawl.stderr.read()[-3000:]
        table = scrapy("store", "runs", *store).stdout.splitlines()
        rows = [line.split() for line in table[1:]]
        if rows and rows[0][3] == "running" and int(rows[0][5]) > 0:
            running = rows[0]
        time.sleep(0.2)
    run_id = running[0]  # the first characters of it
    follow = subprocess.run(
        [*SCRAPY, "store", "log", run_id, "--follow", *store],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    _, err = crawl.communicate(timeout=60)
    assert crawl.returncode == 0, err[-3000:]
    assert follow.returncode == 0, follow.stderr
    assert "Spider opened" in follow.stdout and "Spider closed (finished)" in follow.stdout

    progress = re.findall(r"INFO: (Progress: .*)", err)
    assert progress, err[-3000:]
    assert re.fullmatch(
        r"Progress: \d+ pages \([\d.]+/min\), \d+ items \([\d.]+/min\), \d+ errors "
        r"\(\d+ failed requests\), \d+ bans, \d+ queued, \d+ in flight",
        progress[0],
    ), progress[0]
    finished = scrapy("store", "runs", *store).stdout.splitlines()[1].split()
    assert finished[0] == run_id and finished[3:5] == ["finished", "0"]

    kept = scrapy("store", "log", run_id, *store)
    assert kept.returncode == 0 and "Spider closed (finished)" in kept.stdout
    assert kept.stdout.count("Progress: ") == len(progress)

    # the last run's page count gives an ETA
    again = start_crawl(site, tmp_path, *fast, "-s", "CONCURRENT_REQUESTS=4")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0
    assert re.search(r"Progress: .*; ETA \d:\d\d:\d\d \(38 pages expected: last run\)", err), err


def test_store_log_explains_what_it_cannot_show(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(uri) as store:
        store.record_run({"run_id": "abc123", "rule": "r", "started_at": "2026", "log_file": None})
        store.record_run({"run_id": "abd456", "rule": "r", "started_at": "2025", "log_file": "/x"})
    unknown = scrapy("store", "log", "zzz", "--store", uri)
    assert unknown.returncode == 2 and unknown.stderr == (
        "error: no run matches 'zzz': give a run id (`scrapy store runs` shows them), its first "
        "characters, or a rule name\n"
    )
    several = scrapy("store", "log", "ab", "--store", uri)
    assert several.returncode == 2 and "starts several run ids" in several.stderr
    none = scrapy("store", "log", "abc", "--store", uri)
    assert none.returncode == 1 and "kept no log" in none.stderr
    elsewhere = scrapy("store", "log", "abd", "--store", uri)
    assert elsewhere.returncode == 1 and "which is not here" in elsewhere.stderr
    assert "Traceback" not in unknown.stderr + several.stderr + none.stderr + elsewhere.stderr
