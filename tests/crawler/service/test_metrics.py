"""GET /metrics: a real crawl of the sample site, started through the API of a real `scrapy
serve`, scraped over HTTP while it runs and once it ended (each counter the run record's field);
every rule's current or last run from records; the bounds of a scrape; the service's request
figures by route template; access; a store that fails; the fleet's families."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from crawler.service.api_tokens import TokenFile
from crawler.service.config import forwarded_settings
from crawler.service.run_metrics import RUN_COUNTERS, epoch
from crawler.service.thread_stores import StoreProvider
from crawler.store.mongo import MongoStore
from crawler.store.sqlite import SqliteStore
from tests.crawler.crawl import ROOT, SCRAPY
from tests.crawler.service.conftest import Service, make_service, service_settings
from tests.net import free_port, wait_for_port

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def scrape(client: Any, **headers: str) -> Samples:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == CONTENT_TYPE_LATEST
    return parse(answer.text)


def record(store: Any, run_id: str, rule: str, started: str, **fields: Any) -> None:
    store.record_run({"run_id": run_id, "rule": rule, "started_at": started, **fields})


# -- a real crawl, a real service, over HTTP ------------------------------------------------


@contextmanager
def served(tmp_path: Path, **extra: Any) -> Iterator[tuple[httpx.Client, str, str, str]]:
    """`scrapy serve` on a free loopback port over a store under tmp_path: ``(client, store
    URI, an editor's token, a viewer's token)``."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    settings = service_settings(
        tmp_path,
        uri,
        STORE_JOURNAL_DIR=str(tmp_path / "journal"),
        RUN_LOG_DIR=str(tmp_path / "logs"),
        **extra,
    )
    tokens = TokenFile(tmp_path / "secrets" / "tokens.json")
    editor, _ = tokens.create("ci", role="editor")
    viewer, _ = tokens.create("prometheus", role="viewer")
    port = free_port()
    options = [arg for name, v in forwarded_settings(settings) for arg in ("-s", f"{name}={v}")]
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [*SCRAPY, "serve", "--port", str(port), *options],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    try:
        wait_for_port(port, timeout=90, process=proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, uri, editor, viewer
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_real_crawl_while_it_runs_and_once_it_ended(tmp_path: Path, make_sample_site) -> None:
    site = make_sample_site(books=60, latency=0.05)
    # 15 requests a second to the site (the host budget): the crawl runs for some seconds
    with served(tmp_path, HOST_RATE=15) as (client, uri, editor, viewer):
        prometheus = {"Authorization": f"Bearer {viewer}"}
        started = client.post(
            "/api/rules/sample_books/run",
            json={"args": {"site": site.url}},
            headers={"Authorization": f"Bearer {editor}"},
        )
        assert started.status_code == 200, started.text
        run_id = started.json()["run_id"]
        store = SqliteStore(uri)
        store.open()
        scrapes, live_seen, deadline = 0, None, time.monotonic() + 180
        rule = {"rule": "sample_books"}
        try:
            while time.monotonic() < deadline:
                found = scrape(client, **prometheus)
                scrapes += 1
                run = store.get_run(run_id) or {}
                # a scrape that read this version of the crawl's own running record
                read = value(found, "crawler_run_last_update_time_seconds", **rule)
                live = run.get("status") == "running" and read == epoch(run.get("updated_at"))
                longest = live_seen[1]["queued"] if live_seen else -1
                if live and run.get("queued", 0) > longest:
                    live_seen = (found, run)  # the one with the longest queue
                # its record is whole once the service merged the exit code into it
                ended = run.get("trigger") == "service" and run.get("exit_code") is not None
                if ended and value(found, "crawler_service_crawls_running") == 0:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"the crawl did not end: {run}")
            assert live_seen is not None, "no scrape saw the crawl's own running record"
            found, run = live_seen
            assert value(found, "crawler_run_running", **rule) == 1
            assert value(found, "crawler_run_queued_requests", **rule) == run["queued"] > 0
            assert value(found, "crawler_run_pages_total", **rule) == run["pages"]
            assert value(found, "crawler_service_crawls_running") == 1

            found = scrape(client, **prometheus)
            run = store.get_run(run_id)
        finally:
            store.close()
    assert run["status"] == "finished" and run["pages"] > 0 and run["items"] > 0
    for field in ("pages", "items", "new", "updated", "unchanged", "dead", "errors", "bans"):
        assert field in run, field  # what the record keeps is what is compared below
    for field, name, _ in RUN_COUNTERS:
        if field in run:
            assert value(found, f"{name}_total", **rule) == run[field], field
    assert value(found, "crawler_run_items_new_total", **rule) == run["new"] > 0
    assert value(found, "crawler_run_running", **rule) == 0
    assert value(found, "crawler_run_queued_requests", **rule) == 0
    assert value(found, "crawler_run_exit_code", **rule) == run["exit_code"] == 0
    assert value(found, "crawler_run_start_time_seconds", **rule) == epoch(run["started_at"])
    assert value(found, "crawler_run_last_update_time_seconds", **rule) == epoch(run["updated_at"])
    stats = run["stats"]  # the host budget's own figures, per run
    assert stats["politeness/granted"] > 0
    assert (
        value(found, "crawler_run_politeness_granted_total", **rule) == stats["politeness/granted"]
    )
    for stat, count in stats.items():
        if stat.startswith("politeness/waits/"):
            why = stat.rsplit("/", 1)[1]
            assert value(found, "crawler_run_politeness_waits_total", why=why, **rule) == count
    assert value(found, "crawler_store_up") == 1
    assert value(found, "crawler_service_crawls_running") == 0
    # the service's own requests: by route template, this scrape not yet among them
    assert value(found, "crawler_http_requests_total", method="POST",
                 route="/api/rules/{name}/run", code="200") == 1  # fmt: skip
    assert value(found, "crawler_http_requests_total", method="GET", route="/metrics",
                 code="200") == scrapes  # fmt: skip
    assert 0 < value(found, "crawler_service_uptime_seconds") < 600


# -- every rule's current or last run, from records -----------------------------------------


def test_each_rules_current_run_else_its_last(service: Service) -> None:
    store = service.store
    record(store, "a-old", "a", "2026-01-01T00:00:00Z", status="monitor_failed", exit_code=7,
           pages=50, items=40, finished_at="2026-01-01T01:00:00Z")  # fmt: skip
    record(store, "a-now", "a", "2026-01-02T00:00:00Z", status="running", exit_code=None,
           pages=7, items=5, new=5, errors=0, bans=1, queued=3,
           updated_at="2026-01-02T00:00:09.500Z")  # fmt: skip
    stats = {"politeness/granted": 4, "politeness/waits/rate": 2, "politeness/slowed/http_429": 1}
    record(store, "b-1", "b", "2026-01-01T12:00:00Z", status="finished", exit_code=0,
           pages=4, items=4, new=1, updated=2, unchanged=1, dead=0, spilled=0, errors=1,
           request_errors=1, spider_exceptions=0, log_errors=0, bans=0, queued=9,
           updated_at="2026-01-01T12:05:00Z", stats=stats)  # fmt: skip
    found = scrape(service.client)
    a, b = {"rule": "a"}, {"rule": "b"}
    # a runs: its current run's counters, the exit code of its last finished run
    assert value(found, "crawler_run_running", **a) == 1
    assert value(found, "crawler_run_queued_requests", **a) == 3
    assert value(found, "crawler_run_pages_total", **a) == 7
    assert value(found, "crawler_run_items_total", **a) == 5
    assert value(found, "crawler_run_bans_total", **a) == 1
    assert value(found, "crawler_run_exit_code", **a) == 7
    assert value(found, "crawler_run_items_updated_total", **a) is None  # not in its record
    assert value(found, "crawler_run_last_update_time_seconds", **a) == epoch(
        "2026-01-02T00:00:09.500Z"
    )
    # b ended: its last run
    expected = {"pages": 4, "items": 4, "new": 1, "updated": 2, "unchanged": 1, "dead": 0,
                "spilled": 0, "errors": 1, "request_errors": 1, "spider_exceptions": 0,
                "log_errors": 0, "bans": 0}  # fmt: skip
    names = {field: name for field, name, _ in RUN_COUNTERS}
    for field, count in expected.items():
        assert value(found, f"{names[field]}_total", **b) == count, field
    assert value(found, "crawler_run_running", **b) == 0
    assert value(found, "crawler_run_queued_requests", **b) == 0  # nothing waits once it ended
    assert value(found, "crawler_run_exit_code", **b) == 0
    assert value(found, "crawler_run_start_time_seconds", **b) == epoch("2026-01-01T12:00:00Z")
    assert value(found, "crawler_run_politeness_granted_total", **b) == 4
    assert value(found, "crawler_run_politeness_waits_total", why="rate", **b) == 2
    assert value(found, "crawler_run_politeness_slowed_total", reason="http_429", **b) == 1
    assert value(found, "crawler_store_up") == 1
    # the three records, and a's last three for the exit code of the run before this one
    assert value(found, "crawler_metrics_run_records_read") == 3 + 2
    assert value(found, "crawler_metrics_rules_limited") == 0
    assert not any("a-now" in str(labels) for _, labels in found)  # no run ids in labels


def test_a_scrape_reads_a_bounded_number_of_records(tmp_path: Path) -> None:
    for service in make_service(
        "sqlite", tmp_path, SERVICE_METRICS_MAX_RULES=3, SERVICE_METRICS_SCAN_RECORDS=2
    ):
        store, client = service.store, service.client
        record(store, "old-1", "old", "2026-01-01T00:00:00Z", exit_code=0, pages=1)
        assert value(scrape(client), "crawler_run_pages_total", rule="old") == 1
        for day in (2, 3, 4):
            record(store, f"x-{day}", "x", f"2026-01-0{day}T00:00:00Z", exit_code=0, pages=day)
        found = scrape(client)
        # the window holds two records of x; old, met by the scrape before, is read by itself
        assert value(found, "crawler_run_pages_total", rule="x") == 4
        assert value(found, "crawler_run_pages_total", rule="old") == 1
        assert value(found, "crawler_metrics_run_records_read") == 3
        assert value(found, "crawler_metrics_rules_limited") == 0
        record(store, "y-5", "y", "2026-01-05T00:00:00Z", exit_code=0, pages=5)
        record(store, "z-6", "z", "2026-01-06T00:00:00Z", exit_code=0, pages=6)
        found = scrape(client)
        reported = {dict(labels)["rule"] for name, labels in found if name == "crawler_run_running"}
        assert reported == {"z", "y", "x"}  # three rules at most, the most recently run first
        assert value(found, "crawler_metrics_rules_limited") == 1
        assert value(found, "crawler_metrics_run_records_read") == 3


# -- the service's own figures ---------------------------------------------------------------


def test_requests_counted_by_route_template_per_app(tmp_path: Path) -> None:
    for service in make_service("sqlite", tmp_path / "one"):
        client = service.client
        record(service.store, "r1", "a", "2026-01-01T00:00:00Z", exit_code=0)
        assert client.get("/api/runs/r1").status_code == 200
        assert client.get("/api/runs/r1").status_code == 200
        assert client.get("/api/runs/nope").status_code == 404
        assert client.post("/api/runs/r1/stop").status_code == 401  # no token
        assert client.get("/api/nothing/here").status_code == 404
        for other in make_service("sqlite", tmp_path / "two"):  # a second app, same process
            other.client.get("/api/runs/r1")
            theirs = scrape(other.client)
            assert value(theirs, "crawler_http_requests_total", method="GET",
                         route="/api/runs/{run_id}", code="404") == 1  # fmt: skip
            assert value(theirs, "crawler_http_requests_total", method="GET",
                         route="/api/runs/{run_id}", code="200") is None  # fmt: skip
        found = scrape(client)
        route = "/api/runs/{run_id}"
        counted = {"method": "GET", "route": route}
        assert value(found, "crawler_http_requests_total", code="200", **counted) == 2
        assert value(found, "crawler_http_requests_total", code="404", **counted) == 1
        assert value(found, "crawler_http_requests_total", method="POST",
                     route="/api/runs/{run_id}/stop", code="401") == 1  # fmt: skip
        assert value(found, "crawler_http_requests_total", method="GET", route="unmatched",
                     code="404") == 1  # fmt: skip
        assert value(found, "crawler_http_request_duration_seconds_count", route=route) == 3
        assert value(found, "crawler_http_request_duration_seconds_bucket", route=route,
                     le="+Inf") == 3  # fmt: skip
        labels = [v for _, pairs in found for _, v in pairs]
        assert not any(v in ("/api/runs/r1", "/api/runs/nope") for v in labels)
        again = scrape(client)
        assert value(again, "crawler_http_requests_total", method="GET", route="/metrics",
                     code="200") == 1  # fmt: skip
        assert value(again, "crawler_service_start_time_seconds") <= time.time()
        assert value(again, "crawler_service_crawls_running") == 0


def test_reads_need_a_viewer_off_loopback(tmp_path: Path) -> None:
    viewer, _ = TokenFile(tmp_path / "secrets" / "tokens.json").create("prometheus", role="viewer")
    for service in make_service("sqlite", tmp_path, host="0.0.0.0"):
        client = service.client
        missing = client.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        found = scrape(client, Authorization=f"Bearer {viewer}")
        assert value(found, "crawler_store_up") == 1
        assert value(found, "crawler_http_requests_total", method="GET", route="/metrics",
                     code="401") == 2  # fmt: skip


def test_a_store_that_fails_gives_the_service_figures(tmp_path: Path) -> None:
    for service in make_service("sqlite", tmp_path):
        state = service.client.app.state
        record(service.store, "r1", "a", "2026-01-01T00:00:00Z", exit_code=0, pages=3)
        assert value(scrape(service.client), "crawler_run_pages_total", rule="a") == 3
        # a MongoDB server that is not there (the store cannot open), and a store that opens
        # and then fails while the scrape reads the run records
        away = MongoClient(
            "mongodb://127.0.0.1:9", serverSelectionTimeoutMS=200, connectTimeoutMS=200
        )
        failing = (
            partial(MongoStore, "mongodb://127.0.0.1:9/away", client=away),
            partial(LockedStore, f"sqlite:///{tmp_path / 'locked.db'}"),
        )
        for scraped, make_store in enumerate(failing, start=1):
            state.stores, working = StoreProvider(make_store), state.stores
            try:
                found = scrape(service.client)
            finally:
                state.stores.close()
                state.stores = working
            assert value(found, "crawler_store_up") == 0
            assert value(found, "crawler_run_pages_total", rule="a") is None
            assert value(found, "crawler_service_start_time_seconds") is not None
            assert value(found, "crawler_service_crawls_running") == 0
            assert value(found, "crawler_http_requests_total", method="GET", route="/metrics",
                         code="200") == scraped  # fmt: skip
        away.close()
        assert value(scrape(service.client), "crawler_store_up") == 1  # back


class LockedStore(SqliteStore):
    """A store that opens, then fails reading the run records (another process holds it)."""

    def runs(self, *args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")


class Fleet:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def metric_families(self) -> Iterator[GaugeMetricFamily]:
        if self.fail:
            raise ConnectionError("node away")
        nodes = GaugeMetricFamily("crawler_node_up", "test node", labels=["node"])
        nodes.add_metric(["n1"], 1)
        yield nodes


def test_the_fleets_families_are_included(sqlite_service: Service) -> None:
    state = sqlite_service.client.app.state
    own = getattr(state, "fleet", None)  # the app's own, put back for its shutdown
    try:
        state.fleet = Fleet()
        assert value(scrape(sqlite_service.client), "crawler_node_up", node="n1") == 1
        state.fleet = Fleet(fail=True)
        found = scrape(sqlite_service.client)
    finally:
        state.fleet = own
    assert value(found, "crawler_node_up", node="n1") is None
    assert value(found, "crawler_store_up") == 1
