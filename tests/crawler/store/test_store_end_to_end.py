"""The store layer driven by real processes: a Scrapy crawl (tiny_crawl.py), ``scrapy export``
and ``scrapy store`` run in subprocesses from the project directory."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.store import open_store
from tests.crawler.store.failing_store import BACKENDS, failing_uri

ROOT = Path(__file__).resolve().parents[3]
TINY_CRAWL = Path(__file__).with_name("tiny_crawl.py")
SCRAPY = [sys.executable, "-m", "scrapy.cmdline"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def crawl(settings: dict[str, Any], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(TINY_CRAWL), json.dumps(settings), json.dumps(kwargs)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCRAPY, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Any]:
    return {
        "uri": f"sqlite:///{tmp_path / 'items.db'}",
        "spill": tmp_path / "spill",
        "feed": tmp_path / "feed.jsonl",
        "tmp": tmp_path,
    }


def settings_for(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "STORE_URI": paths["uri"],
        "STORE_SPILL_DIR": str(paths["spill"]),
        "STORE_BATCH_SIZE": 7,
        "STORE_JOURNAL_DIR": str(paths["tmp"] / "journal"),
        "RUN_LOG_DIR": str(paths["tmp"] / "logs"),
        "FEEDS": {str(paths["feed"]): {"format": "jsonlines", "overwrite": True}},
        **extra,
    }


def test_two_crawls_then_export_and_store_commands(paths: dict[str, Any]) -> None:
    crawl(settings_for(paths), n=25, pages=2)
    feed = [json.loads(line) for line in paths["feed"].read_text().splitlines()]
    assert len(feed) == 52  # the pipeline returns every item, dead letters included
    crawl(settings_for(paths), n=25, pages=2, changed=3)

    with open_store(paths["uri"]) as store:
        assert store.count("tiny_items") == 50
        assert store.count("tiny_items__dead") == 2  # the same dead letters again: kept once
        assert store.count("tiny_items__history") == 3
        second, first = store.runs(rule="tiny")
    assert (first["new"], first["updated"], first["unchanged"], first["dead"]) == (50, 0, 0, 2)
    assert (second["new"], second["updated"], second["unchanged"]) == (0, 3, 47)
    assert second["pages"] == 2 and second["items"] == 52 and second["finish_reason"] == "finished"
    assert second["errors"] == 0 and second["bans"] == 0
    assert second["store_uri"] == paths["uri"]
    assert second["stats"]["item_scraped_count"] == 52
    assert second["started_at"].endswith("Z") and second["finished_at"] >= second["started_at"]

    out_jsonl, out_csv = paths["tmp"] / "out.jsonl", paths["tmp"] / "out.csv"
    s = ["-s", f"STORE_URI={paths['uri']}"]
    assert scrapy("export", "tiny_items", "-o", str(out_jsonl), *s).returncode == 0
    assert scrapy("export", "tiny_items", "-o", str(out_csv), "--limit", "10", *s).returncode == 0
    docs = [json.loads(line) for line in out_jsonl.read_text().splitlines()]
    assert len(docs) == 50 and {d["url"] for d in docs} == {
        f"https://tiny.test/item/{i}" for i in range(50)
    }
    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    assert json.loads(rows[0]["tags"]) == ["a", "b"]
    assert {"url", "title", "_hash", "_first_seen", "_updated_at", "_url"} <= set(rows[0])

    # --list, store stats/runs and the error paths run in-process: test_store_commands.py


def test_store_outage_during_crawl_then_replay_brings_back_every_item(
    paths: dict[str, Any],
) -> None:
    broken = failing_uri(paths["tmp"] / "away.db")  # opens, then every write fails
    proc = crawl(
        settings_for(
            paths,
            STORE_URI=broken,
            STORE_BACKENDS=BACKENDS,
            STORE_RETRY_TIMES=1,
            STORE_RETRY_BACKOFF=0.01,
        ),
        n=20,
        pages=3,
    )
    assert proc.stderr.count("Gave up writing to store") == 1  # once per reason, not per item
    assert "'store/spilled': 62" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(list(paths["spill"].glob("*.jsonl"))) == 2  # the items, and the run record

    s = ["-s", f"STORE_URI={paths['uri']}", "-s", f"STORE_SPILL_DIR={paths['spill']}"]
    replay = scrapy("store", "replay", *s)
    assert replay.returncode == 0, replay.stderr
    assert "60 new" in replay.stdout and "1 run record" in replay.stdout
    assert list(paths["spill"].glob("*.jsonl")) == []
    replayed = sorted(paths["spill"].glob("*.jsonl.replayed"))
    assert len(replayed) == 2

    with open_store(paths["uri"]) as store:
        for i in range(60):
            (doc,) = store.find("tiny_items", {"url": f"https://tiny.test/item/{i}"})
            assert doc["title"] == f"Item {i}" and doc["tags"] == ["a", "b"]
        assert store.count("tiny_items") == 60
        assert sorted(d["_reason"] for d in store.find("tiny_items__dead")) == [
            "missing key field 'url'",
            "price: not a number",
        ]
        (run,) = store.runs(rule="tiny")
        assert run["spilled"] == 62 and run["items"] == 62
        assert (run["status"], run["exit_code"]) == ("data_not_stored", 6)

    again = scrapy("store", "replay", *map(str, replayed), *s)  # replaying twice is harmless
    assert again.returncode == 0 and "60 unchanged" in again.stdout
    with open_store(paths["uri"]) as store:
        assert store.count("tiny_items") == 60 and store.count("tiny_items__dead") == 2
        assert len(store.runs()) == 1


def test_ctrl_c_flushes_everything_buffered(paths: dict[str, Any]) -> None:
    settings = settings_for(
        paths, STORE_BATCH_SIZE=100_000, STORE_BATCH_SECONDS=600, DOWNLOAD_DELAY=0.02
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            str(TINY_CRAWL),
            json.dumps(settings),
            json.dumps({"n": 10, "endless": True}),
        ],
        cwd=ROOT,
        env=ENV,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("TINY-PAGE 5"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    feed = [json.loads(line) for line in paths["feed"].read_text().splitlines()]
    with open_store(paths["uri"]) as store:
        (run,) = store.runs()
        assert run["finish_reason"] == "shutdown"
        assert store.count("tiny_items") == run["new"] == len(feed) - 2 >= 60
