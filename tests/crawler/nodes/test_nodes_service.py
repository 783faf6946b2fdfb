"""The fleet through the data service (its API, its node watch, /metrics) and through the CLI
(`scrapy nodes`, `scrapy schedule --run-now`), against the three real Scrapyd nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from crawler.service.api_tokens import TokenFile
from tests.crawler.nodes.conftest import BOOKS, fleet_settings
from tests.crawler.service.conftest import Service, make_service

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fleet_service(nodes, redis_server, tmp_path) -> Iterator[Service]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    wanted = fleet_settings(nodes, tmp_path, redis_server.url)
    names = (
        "NODES",
        "NODES_FILE",
        "REDIS_URL",
        "NODES_CHECK_INTERVAL",
        "NODES_OFFLINE_AFTER",
        "NODES_CRAWL_SETTINGS",
    )
    yield from make_service("sqlite", tmp_path, **{n: wanted.get(n) for n in names})


def wait_for(service: Service, run_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = service.client.get(f"/api/runs/{run_id}", headers=service.auth)
        if answer.status_code == 200 and answer.json()["status"] not in ("running", "starting"):
            return answer.json()
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not end: {answer.text[:2000]}")


def metrics_of(service: Service) -> dict[tuple[str, tuple], float]:
    text = service.client.get("/metrics", headers=service.auth).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_nodes_api_deploys_and_runs_a_distributed_crawl(fleet_service: Service, site):
    s = fleet_service
    listed = s.client.get("/api/nodes", headers=s.auth).json()
    assert [(n["name"], n["status"]) for n in listed["nodes"]] == [
        ("n1", "online"),
        ("n2", "online"),
        ("n3", "online"),
    ]
    assert all("password" not in n for n in listed["nodes"])
    deployed = s.client.post("/api/nodes/deploy", headers=s.auth, json={}).json()
    assert all(r["ok"] for r in deployed["results"]), deployed
    assert deployed["version"].endswith(listed["current"])
    started = s.client.post(
        "/api/nodes/runs",
        headers=s.auth,
        json={"rule": "sample_books", "args": {"site": site.url}, "workers": 3},
    )
    assert started.status_code == 200, started.text
    run_id = started.json()["run_id"]
    beats: dict[str, dict] = {}  # the workers' heartbeats on the Nodes page, while they crawl
    deadline = time.monotonic() + 60
    while len(beats) < 3 and time.monotonic() < deadline:
        for row in s.client.get("/api/nodes", headers=s.auth).json()["nodes"]:
            beats.update({w["worker"]: {**w, "row": row["name"]} for w in row["workers"]})
        time.sleep(0.2)
    assert sorted(b["node"] for b in beats.values()) == ["n1", "n2", "n3"], beats
    for beat in beats.values():
        assert beat["row"] == beat["node"] and beat["rule"] == "sample_books"
        assert beat["part_of"] == run_id and beat["run_id"].startswith(run_id + ".")
        assert beat["rss"] > 10 * 2**20 and beat["pid"] > 0 and beat["host"]
    run = wait_for(s, run_id)
    assert run["status"] == "finished" and run["distributed"] is True, run
    assert sorted(w["node"] for w in run["workers"]) == ["n1", "n2", "n3"]
    parts = s.store.run_parts(run_id)
    assert sorted(p["run_id"] for p in parts) == [f"{run_id}.{k}" for k in (1, 2, 3)]
    assert all(p["status"] == "finished" and p["part_of"] == run_id for p in parts)
    for part in parts:  # seeded before they started: none waits the 60 s seed timeout for it
        took = datetime.fromisoformat(part["finished_at"]) - datetime.fromisoformat(
            part["started_at"]
        )
        assert took.total_seconds() < 45, (part["run_id"], took)
    assert run["pages"] == sum(p["pages"] for p in parts) > BOOKS  # one record, summed
    assert run["new"] + sum(p["replayed"] for p in parts) == BOOKS, parts
    urls = [d["_url"] for d in s.store.find("sample_books")]
    assert len(urls) == len(set(urls)) == BOOKS  # every book stored exactly once
    # one record stands for the run: its workers' records are left out of the lists
    assert [r["run_id"] for r in s.store.runs(rule="sample_books")] == [run_id]
    listed = s.client.get("/api/runs", headers=s.auth, params={"rule": "sample_books"}).json()
    assert [r["run_id"] for r in listed["items"]] == [run_id]
    merged = s.client.get(f"/api/runs/{run_id}/log", headers=s.auth).json()["text"]
    assert all(f"[{w['node']} {w['worker']}]" in merged for w in run["workers"])
    closed = s.client.get(
        f"/api/runs/{run_id}/log",
        headers=s.auth,
        params={"format": "records", "q": "spider closed", "level": "INFO"},
    ).json()["records"]  # the merged log read record by record, each with its worker
    assert sorted(r["source"] for r in closed) == sorted(
        f"{w['node']} {w['worker']}" for w in run["workers"]
    )
    assert {r["message"] for r in closed} == {"Spider closed (finished)"}
    worker = run["workers"][0]["worker"]
    records = s.client.get(
        f"/api/runs/{run_id}/log",
        headers=s.auth,
        params={"worker": worker, "format": "records", "q": "spider closed"},
    ).json()  # that worker's own log, read from its node
    assert [r["message"] for r in records["records"]] == ["Spider closed (finished)"], records
    # /metrics: the rule's counters are the run's one record's; the nodes are up
    samples = metrics_of(s)
    rule = (("rule", "sample_books"),)
    for name, field in (
        ("crawler_run_pages_total", "pages"),
        ("crawler_run_items_total", "items"),
        ("crawler_run_errors_total", "errors"),
    ):
        assert samples[(name, rule)] == run[field], name
    assert samples[("crawler_run_running", rule)] == 0
    assert all(samples[("crawler_node_up", (("node", n),))] == 1 for n in ("n1", "n2", "n3"))


def test_run_now_goes_to_a_node_and_its_log_comes_from_there(fleet_service: Service, site):
    s = fleet_service
    assert all(
        r["ok"]
        for r in s.client.post("/api/nodes/deploy", headers=s.auth, json={}).json()["results"]
    )
    started = s.client.post(
        "/api/rules/sample_books/run", headers=s.auth, json={"args": {"site": site.url}}
    )
    assert started.status_code == 200, started.text
    run = wait_for(s, started.json()["run_id"])
    assert (
        run["status"] == "finished" and run["exit_code"] == 0 and run["node"] in ("n1", "n2", "n3")
    ), run
    log = s.client.get(
        f"/api/runs/{run['run_id']}/log", headers=s.auth, params={"q": "Spider closed"}
    ).json()
    assert "Spider closed (finished)" in log["text"]


def test_admins_register_nodes_whose_password_never_comes_back(fleet_service: Service, nodes):
    s = fleet_service
    body = {
        "name": "extra",
        "url": nodes[0].url,
        "username": "fleet",
        "password": "pw-n1",
        "slots": 2,
    }
    assert s.client.post("/api/nodes", headers=s.auth, json=body).status_code == 403  # an editor
    admin, _ = TokenFile(s.tmp / "secrets" / "tokens.json").create("admin", role="admin")
    s = replace(s, token=admin)
    added = s.client.post("/api/nodes", headers=s.auth, json=body)
    assert added.status_code == 201 and "pw-n1" not in added.text, added.text
    listed = s.client.get("/api/nodes", headers=s.auth).text
    assert "extra" in listed and "pw-n1" not in listed
    assert (Path(s.settings.get("NODES_FILE")).stat().st_mode & 0o777) == 0o600
    assert (
        s.client.post("/api/nodes", headers=s.auth, json={**body, "url": "ftp://x"}).status_code
        == 422
    )
    assert s.client.delete("/api/nodes/n1", headers=s.auth).status_code == 409  # from the settings
    assert s.client.delete("/api/nodes/extra", headers=s.auth).json() == {"removed": True}
    assert s.client.delete("/api/nodes/extra", headers=s.auth).status_code == 404


def scrapy(
    tmp: Path, *argv: str, settings: dict[str, Any], timeout: float = 300
) -> subprocess.CompletedProcess:
    options = [
        x
        for name, value in settings.items()
        for x in ("-s", f"{name}={json.dumps(value) if isinstance(value, dict) else value}")
    ]
    return subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", *argv, *options],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "CRAWLER_DATA_DIR": str(tmp / "data"), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_the_cli_and_the_scheduler_dispatch_to_nodes(nodes, redis_server, site, tmp_path):
    rules = tmp_path / "rules"
    (rules / "types").mkdir(parents=True)
    for path in (ROOT / "rules" / "types").iterdir():
        (rules / "types" / path.name).write_bytes(path.read_bytes())
    text = (ROOT / "rules" / "sample_books.yaml").read_text(encoding="utf-8")
    (rules / "sample_books.yaml").write_text(
        text + f'\nschedule:\n  cron: "0 0 1 1 *"\n  args: {{site: "{site.url}"}}\n',
        encoding="utf-8",
    )
    wanted = fleet_settings(nodes, tmp_path, redis_server.url)
    settings = {
        n: wanted.get(n)
        for n in ("NODES", "NODES_FILE", "REDIS_URL", "STORE_URI", "NODES_CRAWL_SETTINGS")
    }
    settings.update(RULES_DIR=str(rules), SCHEDULE_DIR=str(tmp_path / "schedule"))
    deployed = scrapy(tmp_path, "nodes", "deploy", settings=settings)
    assert deployed.returncode == 0 and deployed.stdout.count("spiders") == 3, (
        deployed.stdout + deployed.stderr
    )
    listed = scrapy(tmp_path, "nodes", "list", settings=settings)
    assert (
        listed.returncode == 0
        and listed.stdout.count("online") == 3
        and listed.stdout.count("(current)") == 3
    ), listed.stdout
    ran = scrapy(
        tmp_path,
        "nodes",
        "run",
        "sample_books",
        "-a",
        f"site={site.url}",
        "--node",
        "n2",
        "--wait",
        settings=settings,
    )
    assert ran.returncode == 0 and "on node n2" in ran.stdout, ran.stdout + ran.stderr
    run_id = ran.stdout.split()[1].rstrip(":")
    log = scrapy(tmp_path, "nodes", "log", run_id, settings=settings)
    assert "Spider closed (finished)" in log.stdout, log.stderr
    scheduled = scrapy(tmp_path, "schedule", "--run-now", "sample_books", settings=settings)
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    from crawler.store import open_store

    with open_store(settings["STORE_URI"]) as store:
        runs = store.runs(rule="sample_books")
        chosen = store.get_run(run_id)
    assert {r.get("node") for r in runs} <= {"n1", "n2", "n3"} and len(runs) == 2, runs
    assert all(r["status"] == "finished" and r["exit_code"] == 0 for r in runs)
    assert chosen["node"] == "n2" and chosen["part_of"] is None and chosen["new"] == BOOKS
