"""A single crawl killed with SIGKILL at random moments loses no item: everything it handed to
the store pipeline was in the write-ahead journal first, and the next run (or ``scrapy store
replay``) writes what the store had not acknowledged, counted exactly."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from crawler.store import open_store
from tests.crawler.crawl import ROOT, SCRAPY, scrapy, stat, store_args

BOOKS = 120
SCRAPED = re.compile(r"Scraped from <200 ([^>]+)>")
MOMENTS = random.Random(20261130)  # reproducible "random" moments
DELAYS = [round(MOMENTS.uniform(0.5, 3.5), 2) for _ in range(4)]


@pytest.fixture(scope="module")
def site():
    from tests.sample_site import SampleSite

    with SampleSite(books=BOOKS, latency=0.1) as running:
        yield running.url


def settings(tmp_path: Path) -> list[str]:
    return [
        *store_args(tmp_path),
        "-s", "CONCURRENT_REQUESTS=4",
        # small, frequent batches: a kill finds some items stored, some only journaled
        "-s", "STORE_BATCH_SIZE=20",
        "-s", "STORE_BATCH_SECONDS=0.5",
    ]  # fmt: skip


def unacknowledged(journal_dir: Path) -> int:
    """Items in the journal files that no acknowledgement covers, read independently of the
    code under test (a torn last line holds no complete item)."""
    items: set[int] = set()
    acked: set[int] = set()
    for path in journal_dir.glob("*.journal"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "ack" in record:
                acked.update(record["ack"])
            elif "seq" in record:
                items.add(record["seq"])
    return len(items - acked)


def kill_crawl(site: str, tmp_path: Path, delay: float) -> str:
    log = tmp_path / "killed.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*SCRAPY, "crawl", "sample_books", "-a", f"site={site}", *settings(tmp_path)]
            + ["-s", "LOG_LEVEL=DEBUG"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
        deadline = time.monotonic() + 60
        while "Spider opened" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "the crawl ended before the kill"
    return log.read_text()


@pytest.mark.parametrize("moment", range(len(DELAYS)))
def test_a_crawl_killed_at_a_random_moment_loses_no_item(site, tmp_path, moment):
    killed = kill_crawl(site, tmp_path, DELAYS[moment])
    durable = set(SCRAPED.findall(killed))  # items whose process_item returned: journaled
    expected_replay = unacknowledged(tmp_path / "journal")
    uri = f"sqlite:///{tmp_path / 'store.db'}"

    if moment % 2 == 0:  # `scrapy store replay`
        proc = scrapy("store", "replay", *settings(tmp_path))
        assert proc.returncode == 0, proc.stderr
        replayed = sum(int(n) for n in re.findall(r"(\d+) item\(s\) replayed", proc.stdout))
        assert replayed == expected_replay, proc.stdout
        with open_store(uri) as store:
            stored = [d["_url"] for d in store.find("sample_books")]
            stored += [d["_url"] for d in store.find("sample_books__dead")]
        assert len(stored) == len(set(stored))  # once each
        assert durable <= set(stored), sorted(durable - set(stored))[:5]
    else:  # the next run
        faster = ["-s", "CONCURRENT_REQUESTS=16"]  # nothing is killed in this run
        proc = scrapy("crawl", "sample_books", "-a", f"site={site}", *settings(tmp_path), *faster)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert stat(proc.stderr, "store/journal/replayed") == expected_replay
        with open_store(uri) as store:
            urls = [d["_url"] for d in store.find("sample_books")]
            assert len(urls) == len(set(urls)) == BOOKS
            assert store.count("sample_books__dead") == 1
    assert not list((tmp_path / "journal").glob("*.journal"))  # replayed, then deleted
    with open_store(uri) as store:
        died = [r for r in store.runs() if r.get("status") == "interrupted"]
    if died:  # recorded at start, then marked when its journal was replayed
        assert "died before the crawl ended" in died[0]["status_reason"]
    print(
        f"moment {moment}: killed {DELAYS[moment]} s after opening, {len(durable)} item(s) "
        f"scraped (journaled), {expected_replay} not yet stored: replayed"
    )
