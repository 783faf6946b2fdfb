"""The exit-status contract (crawler/core/exitcodes.py) as a user meets it: ``scrapy crawl`` in a
subprocess, its exit code, and the status its run record holds; both always agree."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

import crawler.settings
from crawler.core.exitcodes import EXIT_CODES
from crawler.store import open_store
from crawler.store.spill import replay_file
from tests.crawler.crawl import ROOT, SCRAPY, scrapy, stat, store_args
from tests.crawler.store.failing_store import BACKENDS, failing_uri
from tests.net import free_port


def run_crawl(tmp_path: Path, rule: str, *args: str, env: dict | None = None, **kw):
    store = store_args(tmp_path, kw.pop("uri", None))
    return scrapy("crawl", rule, *store, "-s", "LOG_LEVEL=INFO", *args, env=env, **kw)


def only_run(tmp_path: Path) -> dict:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        (run,) = store.runs()
    return run


def assert_status(proc: subprocess.CompletedProcess, run: dict, status: str) -> None:
    assert proc.returncode == EXIT_CODES[status], proc.stderr[-3000:]
    assert (run["status"], run["exit_code"]) == (status, EXIT_CODES[status]), run
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


def test_a_healthy_crawl_exits_0_and_prints_no_warning(sample_site, tmp_path):
    """The sample rules without planted faults: no WARNING at all (no "Disabled ..." notices,
    no coverage warnings); sample_books' planted broken pages give exactly their two."""
    for rule in ("sample_api", "sample_books_table", "sample_news_gbk", "sample_search"):
        proc = run_crawl(tmp_path / rule, rule, "-a", f"site={sample_site}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert " WARNING: " not in proc.stderr, (rule, re.findall(r".*WARNING.*", proc.stderr))
    proc = run_crawl(tmp_path / "books", "sample_books", "-a", f"site={sample_site}")
    assert proc.returncode == 0
    warnings = re.findall(r".* WARNING: .*", proc.stderr)
    assert len(warnings) == 2, warnings
    assert "/book/999999.html" in warnings[0] + warnings[1]
    assert "/book/broken-1.html" in warnings[0] + warnings[1]
    assert_status(proc, only_run(tmp_path / "books"), "finished")


def test_usage_and_rule_errors(tmp_path):
    assert scrapy("crawl").returncode == EXIT_CODES["usage_error"]
    proc = scrapy("crawl", "sample_books", "-s", "PROXY_LIST=ftp://127.0.0.1:1")
    assert proc.returncode == EXIT_CODES["usage_error"], proc.stderr[-2000:]
    assert "bad proxy in the proxy list" in proc.stderr and "Traceback" not in proc.stderr
    proc = scrapy("crawl", "no_such_rule")
    assert proc.returncode == EXIT_CODES["usage_error"] and "no rule or spider named" in proc.stderr
    proc = scrapy("crawl", "sample_books", "-s", "LOG_LEVEL=LOUD", "-s", "JOBDIR=/proc/nope")
    assert proc.returncode == EXIT_CODES["usage_error"], proc.stderr[-2000:]
    assert "-s LOG_LEVEL: must be one of" in proc.stderr and "Traceback" not in proc.stderr
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("start: [{url: 'http://x/'}]\npages: {p: {fields: 3}}\n")
    (rules / "file.yaml").write_text("name: named\nstart: [{url: 'http://x/'}]\n")
    for name in ("broken", "named"):  # by its file stem, by the name it declares
        proc = scrapy("crawl", name, "-s", f"RULES_DIR={rules}")
        assert proc.returncode == EXIT_CODES["rule_error"], proc.stderr
        assert f"rule {name!r} has problems" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_argument_is_a_start_error(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "needs_arg.yaml").write_text(
        "args: {site: null}\nstart: [{url: '{site}/', page: p}]\n"
        "pages: {p: {fields: {t: {css: title}}}}\n"
    )
    proc = run_crawl(tmp_path, "needs_arg", "-s", f"RULES_DIR={rules}")
    assert_status(proc, only_run(tmp_path), "start_error")
    assert "needs argument(s) site" in only_run(tmp_path)["status_reason"]


def test_an_unset_variable_in_a_header_is_a_start_error(sample_site, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "keyed.yaml").write_text(
        "args: {site: null}\n"
        "start: [{url: '{site}/', page: p, headers: {X-Api-Key: '${NO_SUCH_API_KEY}'}}]\n"
        "pages: {p: {fields: {t: {css: title}}}}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_API_KEY"}
    proc = run_crawl(
        tmp_path, "keyed", "-a", f"site={sample_site}", "-s", f"RULES_DIR={rules}", env=env
    )
    assert_status(proc, only_run(tmp_path), "start_error")
    assert "NO_SUCH_API_KEY" in proc.stderr


def test_missing_login_variables_are_one_line_and_a_start_error(sample_site, tmp_path):
    proc = run_crawl(
        tmp_path,
        "sample_books",
        "-a", f"site={sample_site}",
        "-s", f"SESSION_LOGIN_URL={sample_site}/login",
        "-s", 'SESSION_LOGIN_FORM={"user": "${NO_SUCH_USER}"}',
    )  # fmt: skip
    assert_status(proc, only_run(tmp_path), "start_error")
    errors = [line for line in proc.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "NO_SUCH_USER" in errors[0], errors
    assert stat(proc.stderr, "response_received_count") == 0


def test_a_failed_login_is_blocked(sample_site, tmp_path):
    proc = run_crawl(
        tmp_path,
        "sample_books",
        "-a", f"site={sample_site}",
        "-s", "SESSION_COUNT=1",
        "-s", f"SESSION_LOGIN_URL={sample_site}/login",  # answers 404: no login here
        "-s", 'SESSION_LOGIN_FORM={"user": "me"}',
        "-s", "SESSION_LOGIN_MAX_FAILURES=1",
    )  # fmt: skip
    run = only_run(tmp_path)
    assert_status(proc, run, "blocked")
    assert run["finish_reason"] == "antiban_no_session"


def test_no_usable_proxy_is_blocked_and_the_dead_proxy_is_logged_within_10_s(sample_site, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    proc = run_crawl(
        tmp_path,
        "sample_books",
        "-a", f"site={sample_site}",
        "-s", f"PROXY_LIST={dead}",
        "-s", "PROXY_WAIT_MAX=1",
        "-s", "PROXY_FAILURE_BACKOFF=60",
    )  # fmt: skip
    assert time.monotonic() - started < 60
    run = only_run(tmp_path)
    assert_status(proc, run, "blocked")
    assert run["finish_reason"] == "antiban_no_proxy"
    first_line = re.search(r"^(\S+ \S+) ", proc.stderr, re.M).group(1)
    failing = re.search(r"^(\S+ \S+) \[\S+\] WARNING: .*127\.0\.0\.1", proc.stderr, re.M)
    assert failing, proc.stderr[-3000:]
    fmt = "%Y-%m-%d %H:%M:%S"
    elapsed = time.mktime(time.strptime(failing.group(1), fmt)) - time.mktime(
        time.strptime(first_line, fmt)
    )
    assert elapsed <= 10, failing.group(0)


@pytest.mark.parametrize("uri", ["mongodb://127.0.0.1:{port}/crawl", "sqlite:///{blocked}/x.db"])
def test_an_unreachable_store_is_a_start_error_in_one_line(sample_site, tmp_path, uri):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    uri = uri.format(port=free_port(), blocked=blocked)
    proc = run_crawl(tmp_path, "sample_books", "-a", f"site={sample_site}", uri=uri)
    assert proc.returncode == EXIT_CODES["start_error"], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "cannot open the store" in proc.stderr and "point STORE_URI at one" in proc.stderr
    assert stat(proc.stderr, "response_received_count") == 0
    (spilled,) = (tmp_path / "spill").glob("sample_books-run-*.jsonl")  # the record, kept
    with open_store(f"sqlite:///{tmp_path / 'good.db'}") as store:
        replay_file(store, spilled)
        (run,) = store.runs()
    assert (run["status"], run["exit_code"]) == ("start_error", 4)


def test_unreachable_redis_is_a_start_error_in_one_line(sample_site, tmp_path):
    proc = run_crawl(
        tmp_path,
        "sample_books",
        "-a", f"site={sample_site}",
        "-s", f"REDIS_URL=redis://127.0.0.1:{free_port()}/0",
    )  # fmt: skip
    assert_status(proc, only_run(tmp_path), "start_error")
    assert "cannot reach Redis at redis://127.0.0.1:" in proc.stderr
    assert "Engine slot not assigned" not in proc.stderr


def test_spilled_items_are_data_not_stored(sample_site, tmp_path):
    uri = failing_uri(tmp_path / "away.db")
    proc = run_crawl(
        tmp_path,
        "sample_books",
        "-a", f"site={sample_site}",
        "-s", f"STORE_BACKENDS={json.dumps(BACKENDS)}",
        "-s", "STORE_RETRY_TIMES=0",
        uri=uri,
    )  # fmt: skip
    assert proc.returncode == EXIT_CODES["data_not_stored"], proc.stderr[-3000:]
    assert stat(proc.stderr, "store/spilled") == stat(proc.stderr, "item_scraped_count") == 61
    spilled = sorted((tmp_path / "spill").glob("*.jsonl"))
    assert len(spilled) == 2  # the items, and the run record the store did not take
    with open_store(f"sqlite:///{tmp_path / 'good.db'}") as store:
        for path in spilled:
            replay_file(store, path)
        (run,) = store.runs()
        assert store.count("sample_books") == 60
    assert (run["status"], run["exit_code"]) == ("data_not_stored", 6)
    assert "replay them with `scrapy store replay`" in run["status_reason"]


def _limit_file_size(limit: int):
    def limit_it() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_it


def test_lost_items_are_counted_exactly(sample_site, tmp_path):
    """The disk takes part of a spill: the spill file holds exactly ``store/spilled`` items,
    the rest are ``store/lost`` (no journal here to keep them), and the exit status is 6."""
    uri = failing_uri(tmp_path / "away.db", memory=True)  # nothing on disk but the spill
    args = [
        *SCRAPY, "crawl", "sample_books", *store_args(tmp_path, uri),
        "-a", f"site={sample_site}",
        "-s", "LOG_LEVEL=INFO",
        "-s", f"STORE_BACKENDS={json.dumps(BACKENDS)}",
        "-s", "STORE_RETRY_TIMES=0",
        "-s", "STORE_JOURNAL_DIR=",
        "-s", "RUN_LOG_DIR=",
    ]  # fmt: skip
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size(15_000),
    )
    assert proc.returncode == EXIT_CODES["data_not_stored"], proc.stderr[-3000:]
    (spill,) = [p for p in (tmp_path / "spill").glob("*.jsonl") if "-run-" not in p.name]
    lines = spill.read_text().splitlines()
    assert all(json.loads(line)["item"] for line in lines)  # complete lines only
    spilled, lost = stat(proc.stderr, "store/spilled"), stat(proc.stderr, "store/lost")
    assert 0 < spilled == len(lines) and lost > 0
    assert spilled + lost == stat(proc.stderr, "item_scraped_count") == 61
    assert "they are lost" in proc.stderr


def test_items_the_store_never_took_stay_in_the_journal_for_the_next_replay(sample_site, tmp_path):
    db = tmp_path / "away.db"
    uri = failing_uri(db)
    (tmp_path / "spill").write_text("a file where the spill directory should be")
    backends = ["-s", f"STORE_BACKENDS={json.dumps(BACKENDS)}"]
    proc = run_crawl(
        tmp_path, "sample_books", "-a", f"site={sample_site}", *backends,
        "-s", "STORE_RETRY_TIMES=0", uri=uri,
    )  # fmt: skip
    assert proc.returncode == EXIT_CODES["data_not_stored"], proc.stderr[-3000:]
    assert stat(proc.stderr, "store/journal/kept") == 61
    assert stat(proc.stderr, "store/lost") == stat(proc.stderr, "store/spilled") == 0
    Path(f"{db}.down").unlink()  # the store is back
    replay = scrapy(
        "store", "replay", "--store", uri, *backends,
        "-s", f"STORE_JOURNAL_DIR={tmp_path / 'journal'}",
        "-s", f"STORE_SPILL_DIR={tmp_path / 'no-spill'}",
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    assert "61 item(s) replayed (60 new, 0 updated, 0 unchanged, 1 dead letter(s))" in replay.stdout
    with open_store(f"sqlite:///{db}") as store:
        assert store.count("sample_books") == 60 and store.count("sample_books__dead") == 1
    assert not list((tmp_path / "journal").glob("*.journal"))


def test_a_failing_monitor_exits_7(sample_site, tmp_path):
    extensions = {**crawler.settings.EXTENSIONS, "tests.crawler.monitor_stub.FailingMonitor": 100}
    proc = run_crawl(
        tmp_path,
        "sample_books",
        "-a", f"site={sample_site}",
        "-s", f"EXTENSIONS={json.dumps(extensions)}",
    )  # fmt: skip
    run = only_run(tmp_path)
    assert_status(proc, run, "monitor_failed")
    assert run["monitors"] == {
        "failed": 1,
        "results": [{"monitor": "item count", "ok": False, "why": "too few"}],
    }


def test_nothing_downloaded_is_a_failure(tmp_path):
    proc = run_crawl(tmp_path, "sample_books", "-a", f"site=http://127.0.0.1:{free_port()}")
    assert_status(proc, only_run(tmp_path), "failed")
    assert "no page downloaded" in only_run(tmp_path)["status_reason"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_crawl_is_interrupted(make_sample_site, tmp_path, sig):
    site = make_sample_site(books=200, latency=0.2).url
    proc = subprocess.Popen(
        [*SCRAPY, "crawl", "sample_books", "-a", f"site={site}", *store_args(tmp_path)]
        + ["-s", "LOG_LEVEL=DEBUG"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "Crawled (200)" in line and "/book/" in line:
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    run = only_run(tmp_path)
    assert proc.returncode == EXIT_CODES["interrupted"], err[-3000:]
    assert (run["status"], run["finish_reason"]) == ("interrupted", "shutdown")
    assert run["exit_code"] == 8 and 0 < run["pages"] < 200


def test_rules_test_of_a_rule_without_fixtures_fails(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bare.yaml").write_text(
        "start: [{url: 'http://127.0.0.1/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
    )
    proc = scrapy("rules", "test", "bare", "-s", f"RULES_DIR={rules}")
    assert proc.returncode != 0
    assert "no fixtures for bare" in proc.stdout + proc.stderr
