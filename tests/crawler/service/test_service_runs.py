"""Runs API: listing and filters, one run (records of any age), logs, the live event stream
of a crawl the service started, stopping it; and a real crawl run from the API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.crawler.crawl import scrapy
from tests.crawler.service.conftest import Service, make_service


def record(store, run_id: str, rule: str, started: str, **fields) -> None:
    store.record_run({"run_id": run_id, "rule": rule, "started_at": started, **fields})


def test_runs_newest_first_filtered_and_paged(service: Service) -> None:
    for i in range(6):
        record(
            service.store,
            f"r{i}",
            "a" if i % 2 else "b",
            f"2026-01-0{i + 1}T00:00:00Z",
            finish_reason="finished",
            exit_code=0 if i != 5 else 7,
            items=i,
        )
    record(service.store, "old", "a", "2025-01-01T00:00:00Z", finish_reason="finished")
    runs = service.client.get("/api/runs").json()
    assert [r["run_id"] for r in runs["items"]] == ["r5", "r4", "r3", "r2", "r1", "r0", "old"]
    assert runs["items"][0]["status"] == "monitor_failed" and runs["items"][0]["exit_code"] == 7
    assert runs["items"][-1]["status"] == "finished" and runs["items"][-1]["exit_code"] is None
    assert runs["items"][0]["live"] is False and runs["items"][0]["items"] == 5
    page = service.client.get("/api/runs", params={"rule": "a", "limit": 2}).json()
    rest = service.client.get("/api/runs", params={"rule": "a", "cursor": page["next"]}).json()
    assert [r["run_id"] for r in page["items"] + rest["items"]] == ["r5", "r3", "r1", "old"]
    failed = service.client.get("/api/runs", params={"status": "monitor_failed"}).json()
    assert [r["run_id"] for r in failed["items"]] == ["r5"]
    finished = service.client.get("/api/runs", params={"status": "finished", "limit": 2}).json()
    more = service.client.get(
        "/api/runs", params={"status": "finished", "limit": 2, "cursor": finished["next"]}
    ).json()
    assert [r["run_id"] for r in finished["items"] + more["items"]] == ["r4", "r3", "r2", "r1"]


def test_one_run_whole_with_coverage_and_monitors(service: Service, tmp_path: Path) -> None:
    log = tmp_path / "r1.log"
    log.write_text("line one\nline two\n" + "x" * 5000 + "\nlast\n", encoding="utf-8")
    stats = {
        "coverage/title": 1.0,
        "coverage/price": 0.5,
        "monitors/failed": 1,
        "monitors/results": [{"name": "min_items", "ok": False, "message": "3 < 10"}],
    }
    record(service.store, "r1", "a", "2026-01-01T00:00:00Z", stats=stats, log_file=str(log))
    run = service.client.get("/api/runs/r1").json()
    # an old record's flat shares: one page type, "*" (all of them)
    assert run["coverage"] == {
        "*": {"items": None, "item_type": None, "fields": {"price": 0.5, "title": 1.0}}
    }
    assert run["monitors"][0]["ok"] is False and run["status"] == "monitor_failed"
    assert run["log_file"] == str(log) and run["stats"]["monitors/failed"] == 1
    text, offset = "", 0
    for _ in range(20):
        chunk = service.client.get("/api/runs/r1/log", params={"offset": offset}).json()
        if chunk["offset"] == offset:
            break
        text += chunk["text"]
        offset = chunk["offset"]
    assert text == log.read_text(encoding="utf-8")
    assert service.client.get("/api/runs/nope").status_code == 404
    record(service.store, "r2", "a", "2026-01-02T00:00:00Z", log_file="/etc/passwd")
    assert service.client.get("/api/runs/r2/log").status_code == 404  # not a .log file


def test_errors_and_coverage_of_records_of_every_age(service: Service) -> None:
    # before errors was one figure: ERROR lines in errors, failed requests beside them
    record(service.store, "old", "a", "2026-01-01T00:00:00Z", pages=4, errors=1, request_errors=1)
    # a crawl's record now: its stats say what happened (a 500 given up on: one error, not two)
    stats = {
        "response_received_count": 8,
        "rule/request_errors/http_500": 1,
        "retry/max_reached": 1,
        "log_count/ERROR": 1,
        "antiban/bans": 2,
        "downloader/request_count": 10,
        "coverage/post/items": 4,
        "coverage/post/item_type": "article",
        "coverage/post/filled/title": 4,
        "coverage/list/items": 8,
        "coverage/list/filled/next": 6,
    }
    record(service.store, "new", "a", "2026-01-02T00:00:00Z", pages=8, stats=stats)
    old, new = (service.client.get(f"/api/runs/{i}").json() for i in ("old", "new"))
    assert (old["errors"], old["error_rate"]) == (2, 0.5)
    assert (new["errors"], new["request_errors"], new["log_errors"]) == (1, 1, 0)
    assert (new["error_rate"], new["ban_rate"]) == (0.125, 0.2)
    assert new["coverage"] == {
        "list": {"items": 8, "item_type": None, "fields": {"next": 0.75}},
        "post": {"items": 4, "item_type": "article", "fields": {"title": 1.0}},
    }
    assert new["coverage_item_types"] == {
        "article": {"items": 4, "page_types": ["post"], "fields": {"title": 1.0}}
    }
    listed = {r["run_id"]: r for r in service.client.get("/api/runs").json()["items"]}
    assert listed["new"]["errors"] == 1 and listed["old"]["error_rate"] == 0.5


class ScriptLauncher:
    """Starts a stand-in crawl: writes Scrapy-like log lines, then exits with ``status``."""

    def __init__(self, seconds: float = 1.0, status: int = 0) -> None:
        self.seconds, self.status = seconds, status
        self.argvs: list[list[str]] = []
        self.procs: list[subprocess.Popen] = []

    def __call__(self, argv: list[str], log_file: Path) -> subprocess.Popen:
        self.argvs.append(argv)
        code = (
            "import sys, time\n"
            f"for i in range(1, 6):\n"
            f"    print(f'[scrapy.extensions.logstats] INFO: Crawled {{i*10}} pages (at 60 pages/min), "
            f"scraped {{i*5}} items (at 30 items/min)', flush=True)\n"
            f"    time.sleep({self.seconds} / 5)\n"
            "print('[x] ERROR: one error', flush=True)\n"
            f"sys.exit({self.status})\n"
        )
        out = open(log_file, "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append(proc)
        return proc


@pytest.fixture
def launched(backend, tmp_path):
    launcher = ScriptLauncher()
    for service in make_service(backend, tmp_path, launcher=launcher):
        yield service, launcher
    for proc in launcher.procs:
        if proc.poll() is None:
            proc.kill()


def read_events(service: Service, run_id: str) -> list[tuple[str, dict]]:
    events = []
    with service.client.stream("GET", f"/api/runs/{run_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
                if name == "end":
                    break
    return events


def test_run_now_streams_progress_and_log_then_end(launched) -> None:
    service, launcher = launched
    assert service.client.post("/api/rules/sample_books/run").status_code == 401
    answer = service.client.post(
        "/api/rules/sample_books/run",
        json={"args": {"site": "http://127.0.0.1:9"}},
        headers=service.auth,
    )
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["run_id"]
    argv = launcher.argvs[0]
    # the crawl takes the service's run id as its own; its record moves every second
    assert argv[:2] == ["crawl", "sample_books"] and f"RUN_ID={run_id}" in argv
    assert f"SCHEDULE_RUN_ID={run_id}" in argv and "RUN_UPDATE_INTERVAL=1" in argv
    assert "site=http://127.0.0.1:9" in argv
    # A second run of the same rule while this one goes on is refused.
    again = service.client.post("/api/rules/sample_books/run", headers=service.auth)
    assert again.status_code == 409
    listed = service.client.get("/api/runs").json()["items"]
    assert listed[0]["run_id"] == run_id and listed[0]["live"] is True
    events = read_events(service, run_id)
    names = [name for name, _ in events]
    assert names[-1] == "end" and "log" in names and "progress" in names
    progress = [data for name, data in events if name == "progress"][-1]
    assert progress["pages"] == 50 and progress["items"] == 25 and progress["errors"] == 1
    assert events[-1][1] == {"status": "finished", "exit_code": 0}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the background thread records the ended crawl
        stored = service.store.get_run(run_id)
        if stored and stored.get("exit_code") == 0:
            break
        time.sleep(0.05)
    assert stored["exit_code"] == 0 and stored["log_file"].endswith(".log")
    assert service.client.get(f"/api/runs/{run_id}").json()["status"] == "finished"


def test_progress_comes_at_once_then_every_second(backend, tmp_path) -> None:
    launcher = ScriptLauncher(seconds=4)
    for service in make_service(backend, tmp_path, launcher=launcher):
        run_id = service.client.post("/api/rules/sample_books/run", headers=service.auth).json()[
            "run_id"
        ]
        # the crawl's own record, as its recorder keeps it while it runs (its counters win)
        started = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        stats = {"response_received_count": 7, "rule/request_errors/http_404": 1}
        service.store.record_run(
            {
                "run_id": run_id,
                "rule": "sample_books",
                "status": "running",
                "started_at": started,
                "pages": 7,
                "items": 5,
                "bans": 0,
                "queued": 3,
                "expected": {"total": 28, "unit": "pages", "source": "last run"},
                "stats": stats,
            }
        )
        asked = time.monotonic()
        timed = []
        with service.client.stream("GET", f"/api/runs/{run_id}/events") as response:
            name = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    timed.append((time.monotonic() - asked, name, json.loads(line[6:])))
                    if name == "end":
                        break
    progress = [(at, data) for at, name, data in timed if name == "progress"]
    assert progress[0][0] < 1.0, timed[:3]  # the first one at once
    live = [(at, data) for at, data in progress if data["elapsed"] is not None][:-1]
    assert len(live) >= 3, progress
    gaps = [b[0] - a[0] for a, b in zip(live, live[1:], strict=False)]
    assert max(gaps) <= 1.5, gaps  # then at least every second (1 s, and some slack)
    elapsed = [data["elapsed"] for _, data in live]
    assert elapsed == sorted(elapsed) and elapsed[-1] > elapsed[0]  # the duration ticks
    first = live[0][1]
    assert (first["pages"], first["items"], first["errors"], first["queue"]) == (7, 5, 1, 3)
    assert (first["total"], first["done"], first["unit"]) == (28, 7, "pages")
    assert first["error_rate"] == round(1 / 7, 4)
    # the ETA at the rate so far: 21 pages to go at 7 pages per elapsed
    last = live[-1][1]
    assert last["elapsed"] > 0 and last["eta"] == pytest.approx(21 * last["elapsed"] / 7, abs=0.2)


def test_bad_run_requests(launched) -> None:
    service, _ = launched
    auth = service.auth
    assert service.client.post("/api/rules/nope/run", headers=auth).status_code == 404
    bad_arg = service.client.post(
        "/api/rules/sample_books/run", json={"args": {"nope": 1}}, headers=auth
    )
    assert bad_arg.status_code == 422 and "nope" in bad_arg.json()["detail"]
    assert service.client.post("/api/rules/..%2Fetc/run", headers=auth).status_code in (404, 422)


def test_stop_a_running_crawl(backend, tmp_path) -> None:
    launcher = ScriptLauncher(seconds=60)
    for service in make_service(backend, tmp_path, launcher=launcher):
        run_id = service.client.post("/api/rules/sample_books/run", headers=service.auth).json()[
            "run_id"
        ]
        assert service.client.post(f"/api/runs/{run_id}/stop").status_code == 401
        stop = service.client.post(f"/api/runs/{run_id}/stop", headers=service.auth)
        assert stop.json() == {"stopping": True}
        assert launcher.procs[0].wait(timeout=10) != 0
        events = read_events(service, run_id)
        assert events[-1][0] == "end" and events[-1][1]["status"] != "finished"
        record(service.store, "other", "a", "2026-01-01T00:00:00Z")
        assert service.client.post("/api/runs/other/stop", headers=service.auth).status_code == 409


def test_a_real_crawl_run_from_the_api(tmp_path, sample_site) -> None:
    for service in make_service("sqlite", tmp_path):
        answer = service.client.post(
            "/api/rules/sample_books/run",
            json={"args": {"site": sample_site}},
            headers=service.auth,
        )
        run_id = answer.json()["run_id"]
        events = read_events(service, run_id)
        assert events[-1] == ("end", {"status": "finished", "exit_code": 0})
        deadline = time.monotonic() + 30
        run = {}
        while time.monotonic() < deadline:
            run = service.client.get(f"/api/runs/{run_id}").json()
            if run.get("exit_code") == 0 and run.get("items"):
                break
            time.sleep(0.1)
        assert run["rule"] == "sample_books" and run["items"] > 0 and run["pages"] > 0
        # one id: the crawl's own record is under the service's id, and so is its log
        assert run["run_id"] == run_id == run["stats"]["run/id"]
        assert run["stats"]["schedule/run_id"] == run_id
        assert Path(run["log_file"]).name.endswith(f"-{run_id[:8]}.log")
        own = service.store.get_run(run_id)
        assert own["run_id"] == run_id and own["exit_code"] == 0
        assert len(service.store.runs(rule="sample_books")) == 1  # one record, not two
        shown = scrapy("store", "log", run_id, "--store", service.settings["STORE_URI"])
        assert shown.returncode == 0 and "Spider closed (finished)" in shown.stdout
        items = service.client.get("/api/collections/sample_books/items?count=true").json()
        assert items["count"] > 0


def test_an_ended_run_is_found_while_its_record_is_written(tmp_path: Path) -> None:
    """Reaping moves a run from running to finished in one step: an events stream asking
    between the two (before its record is in the store) once got a 404 mid-stream."""
    from crawler.service.config import ServiceConfig
    from crawler.service.launcher import CrawlLauncher
    from tests.crawler.service.conftest import service_settings

    seen: list[object] = []

    class RecordingStore:  # what find() answers while the ended run is being recorded
        def get_run(self, run_id: str) -> None:
            seen.append(crawls.find(run_id))

        def record_run(self, record: dict) -> None:
            seen.append(crawls.find(record["schedule_run_id"]))

    config = ServiceConfig.from_settings(service_settings(tmp_path, "sqlite:///unused.db"))
    crawls = CrawlLauncher(config, RecordingStore, ScriptLauncher(seconds=0.0))
    run = crawls.start("sample_books", {})
    assert run.proc.wait(timeout=30) == 0
    assert crawls.reap() == [run]
    assert seen == [run, run] and crawls.find(run.run_id) is run
    assert run.exit_code == 0 and not crawls.is_running(run.run_id)
    assert crawls.start("sample_books", {}).proc.wait(timeout=30) == 0  # the rule lock is free


@pytest.fixture
def small_chunks(tmp_path: Path):
    """The service reading logs 1024 bytes at a time (its smallest chunk)."""
    yield from make_service("sqlite", tmp_path, SERVICE_LOG_CHUNK=1024)


def log_run(service: Service, tmp_path: Path, text: str, run_id: str = "logged") -> bytes:
    log = tmp_path / f"{run_id}.log"
    log.write_bytes(text.encode())
    record(service.store, run_id, "a", "2026-01-01T00:00:00Z", log_file=str(log))
    return log.read_bytes()


def every_page(service: Service, run_id: str, **params) -> list[dict]:
    answers, offset = [], 0
    for _ in range(500):
        answer = service.client.get(f"/api/runs/{run_id}/log", params={**params, "offset": offset})
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
        if answer.json()["offset"] == offset:
            return answers
        offset = answer.json()["offset"]
    raise AssertionError("the log never ended")


def test_the_log_as_records_filtered_and_paged(small_chunks: Service, tmp_path: Path) -> None:
    from crawler.runs.logview import parse
    from tests.crawler.runs.test_logview import LOG

    service = small_chunks
    data = log_run(service, tmp_path, LOG * 3)
    whole = [r.as_dict() for r in parse(data)]
    # without the new parameters: text, as it always was (a chunk ending at a line end)
    plain = service.client.get("/api/runs/logged/log").json()
    assert set(plain) == {"text", "offset", "size"} and plain["size"] == len(data)
    assert plain["offset"] <= 1024 and plain["text"].encode() == data[: plain["offset"]]
    assert plain["text"].endswith("\n") and data[plain["offset"] - 1 : plain["offset"]] == b"\n"
    texts = every_page(service, "logged")
    assert "".join(a["text"] for a in texts).encode() == data
    # records: every one once, pages of at most a chunk that end where a record starts
    pages = every_page(service, "logged", format="records")
    assert all(set(p) == {"records", "offset", "size"} for p in pages)
    assert [r for p in pages for r in p["records"]] == whole
    assert len(pages) > 3 and all(
        p["offset"] - p["records"][0]["offset"] <= 1024 for p in pages[:-1]
    )
    first = pages[0]["records"][0]
    assert first == {
        "offset": 0,
        "time": "2026-03-02 09:15:01",
        "level": "INFO",
        "logger": "scrapy.utils.log",
        "message": "Scrapy 2.13.3 started (bot: crawler)",
        "startup": True,
        "source": None,
    }
    # three crawls' logs in one file: each one's start-up dump, read whole or in pieces
    assert sum(r["startup"] for r in whole) == 30
    # a minimum level, a search, both; case-insensitive
    warned = [
        r
        for p in every_page(service, "logged", format="records", level="warning")
        for r in p["records"]
    ]
    assert [r["level"] for r in warned] == ["WARNING", "WARNING", "ERROR"] * 3
    assert [r for r in whole if r["level"] in ("WARNING", "ERROR")] == warned
    errors = every_page(service, "logged", format="records", level="ERROR")
    assert len([r for p in errors for r in p["records"]]) == 3
    found = [
        r
        for p in every_page(service, "logged", format="records", q="SPIDER OPENED")
        for r in p["records"]
    ]
    assert [r["message"] for r in found] == ["Spider opened"] * 3
    both = every_page(service, "logged", format="records", level="WARNING", q="is not a NUMBER")
    assert [r["logger"] for p in both for r in p["records"]] == ["scrapy.core.scraper"] * 3
    assert [
        r for p in every_page(service, "logged", format="records", q=".*") for r in p["records"]
    ] == []
    # filtered text: the matching records as they stand in the file
    text = "".join(a["text"] for a in every_page(service, "logged", level="ERROR"))
    assert text.count("Traceback (most recent call last):") == 3 and "INFO" not in text
    # an empty level or search is no filter: the plain answer
    assert service.client.get("/api/runs/logged/log", params={"level": "", "q": ""}).json() == plain


def test_bad_log_requests(sqlite_service: Service, tmp_path: Path) -> None:
    service = sqlite_service
    log_run(service, tmp_path, "2026-03-02 09:15:01 [books] INFO: hello\n")
    url = "/api/runs/logged/log"
    unknown = service.client.get(url, params={"level": "LOUD"})
    assert unknown.status_code == 422 and "unknown log level 'LOUD'" in unknown.json()["detail"]
    assert service.client.get(url, params={"format": "html"}).status_code == 422
    assert service.client.get(url, params={"q": "x" * 201}).status_code == 422
    longest = service.client.get(url, params={"q": "x" * 200, "format": "records"})
    assert longest.json() == {"records": [], "offset": 40, "size": 40}
    assert service.client.get(url, params={"offset": -1}).status_code == 422
    # a worker's log needs the fleet: without nodes there is none
    worker = service.client.get(url, params={"worker": "w1", "format": "records"})
    assert worker.status_code == 404 and "has no worker 'w1'" in worker.json()["detail"]
    assert service.client.get("/api/runs/nope/log", params={"worker": "w1"}).status_code == 404
    record(service.store, "nolog", "a", "2026-01-01T00:00:00Z")
    missing = service.client.get("/api/runs/nolog/log", params={"format": "records"})
    assert missing.status_code == 404 and "no log file here" in missing.json()["detail"]
