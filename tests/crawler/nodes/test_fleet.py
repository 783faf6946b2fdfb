"""The fleet against three real Scrapyd nodes and a real Redis: deploy, a distributed run across
the three with one node killed mid-crawl, wrong credentials. (A distributed run to its end
through the data service, and a run on a chosen node with its log read there through the CLI:
test_nodes_service.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from crawler.nodes import Fleet, NodeWatch, settle, start_distributed, stop_run
from crawler.store import open_store
from tests.crawler.nodes.conftest import BOOKS, fleet_settings
from tests.sample_site import SampleSite

ROOT = Path(__file__).resolve().parents[3]


def store_of(fleet: Fleet):
    store = open_store(fleet.settings.get("STORE_URI"))
    store.open()
    return store


def wait_run(
    fleet: Fleet, store, run_id: str, timeout: float = 180, watch: NodeWatch | None = None
) -> dict:
    deadline = time.monotonic() + timeout
    offsets: dict[str, int] = {}
    while time.monotonic() < deadline:
        if watch is not None:
            watch.tick()
            record = store.get_run(run_id)
        else:
            record = settle(fleet, store, run_id, offsets)
        if record is not None and record.get("status") not in (None, "running"):
            return record
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not end: {store.get_run(run_id)}")


def stored_urls(store) -> list[str]:
    return [d["_url"] for d in store.find("sample_books")]


def test_deploy_is_versioned_by_content_and_idempotent(fleet: Fleet, nodes):
    fleet.deploy()  # the fixture deployed the project; now the same content again
    egg, results = fleet.deploy()
    assert [r["node"] for r in results] == ["n1", "n2", "n3"]
    assert all(r["ok"] and r["unchanged"] for r in results), results
    assert {r["version"].partition("_")[2] for r in results} == {egg.digest}
    for row in fleet.status():
        assert row["status"] == "online" and row["version"].endswith(egg.digest), row


def test_a_killed_node_raises_an_alert_and_the_others_finish_its_work(
    fleet: Fleet, nodes, tmp_path, receiver, monkeypatch
):
    with SampleSite(books=BOOKS, latency=0.15) as slow:  # the crawl outlasts the kill by far
        kill_a_node_mid_crawl(fleet, nodes, slow, tmp_path, receiver, monkeypatch)


def kill_a_node_mid_crawl(fleet, nodes, site, tmp_path, receiver, monkeypatch) -> None:
    monkeypatch.setenv("TEST_ALERT_URL", receiver.url)
    fleet.settings.set("MONITORS_ALERTS", ["webhook"])
    fleet.settings.set("ALERT_WEBHOOK_URL_ENV", "TEST_ALERT_URL")
    fleet.settings.set("ALERTS_STATE", str(tmp_path / "alerts.sqlite"))
    store = store_of(fleet)
    watch = NodeWatch(fleet, store=lambda: store)
    try:
        record = start_distributed(
            fleet,
            store,
            "sample_books",
            {"site": site.url},
            3,
            settings={"CONCURRENT_REQUESTS": 1},
            log_dir=tmp_path / "logs",
        )
        doomed = next(w for w in record["workers"] if w["node"] == "n3")
        deadline = time.monotonic() + 60
        while True:  # n3's worker has crawled some pages, and the crawl is far from done
            part = store.get_run(doomed["worker"]) or {}
            if (part.get("pages") or 0) >= 2:
                break
            assert time.monotonic() < deadline, part
            time.sleep(0.2)
        nodes[2].kill_all()  # the machine dies: Scrapyd and its crawl, SIGKILL
        final = wait_run(fleet, store, record["run_id"], watch=watch)
        assert final["status"] == "finished" and final["lost_workers"] == 1, final
        assert "lost" in final["status_reason"] and "n3" in final["status_reason"]
        urls = stored_urls(store)
        assert Counter(urls).most_common(1)[0][1] == 1 and len(urls) == BOOKS
        offline = [a for a in receiver.received if a.get("event") == "node_offline"]
        assert [a["node"] for a in offline] == ["n3"], receiver.received
        assert "offline" in offline[0]["title"]
        assert next(r for r in watch.snapshot if r["name"] == "n3")["status"] == "offline"
        assert stop_run(fleet, final) == []  # nothing left to cancel
    finally:
        store.close()
        nodes[2].start()  # the node comes back for whatever runs after


def test_wrong_credentials_are_one_clear_line(nodes, tmp_path, redis_server):
    bad = {"url": nodes[0].url, "username": "fleet", "password_env": "TEST_BAD_PASSWORD"}
    settings = fleet_settings(nodes, tmp_path, redis_server.url)
    settings.set("NODES", {"bad": bad})
    os.environ["TEST_BAD_PASSWORD"] = "not-the-password"
    row = Fleet(settings).status()[0]
    assert row["status"] == "unauthorized" and "wrong credentials" in row["error"]
    assert "not-the-password" not in str(row)
    import json

    done = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", "nodes", "deploy", "-s", f"NODES={json.dumps({'bad': bad})}", "-s", f"NODES_FILE={tmp_path / 'n.yaml'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CRAWLER_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "not-the-password" not in done.stdout + done.stderr
    assert "bad" in done.stdout and "wrong credentials (HTTP 401)" in done.stdout
