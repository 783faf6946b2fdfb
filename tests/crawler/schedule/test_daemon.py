"""The scheduler daemon on a faked clock: real rule files, real processes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.core.exitcodes import STATUSES
from crawler.schedule.daemon import DaemonConfig, ScheduleDaemon
from tests.crawler.crawl import ROOT


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def write_rule(rules: Path, schedule: str, site: str = "http://127.0.0.1:9") -> Path:
    text = (ROOT / "rules" / "sample_books.yaml").read_text(encoding="utf-8")
    text = text.replace("\nstart:", f"\nschedule: {schedule}\nstart:", 1)
    text = text.replace("http://127.0.0.1:8000", site)
    path = rules / "sample_books.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def rules(tmp_path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    return rules


class SleepLauncher:
    """Starts a stand-in for a crawl: sleeps, then exits with the status asked for."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []
        self.argvs: list[list[str]] = []
        self.seconds = 60.0
        self.status = 0

    def __call__(self, argv: list[str], log_file: Path) -> subprocess.Popen:
        code = f"import time, sys; time.sleep({self.seconds}); sys.exit({self.status})"
        proc = subprocess.Popen([sys.executable, "-c", code])
        self.started.append(proc)
        self.argvs.append(argv)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture
def launcher():
    started = SleepLauncher()
    yield started
    started.stop_all()


def make_daemon(tmp_path, rules, clock, launcher=None, store=True) -> ScheduleDaemon:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = DaemonConfig(
        rules_dir=rules,
        state_dir=tmp_path / "schedule",
        store_uri=f"sqlite:///{tmp_path / 'store.db'}" if store else "",
        crawl_settings=(
            ("STORE_URI", f"sqlite:///{tmp_path / 'store.db'}"),
            ("STORE_SPILL_DIR", str(tmp_path / "spill")),
            ("RULES_DIR", str(rules)),
        ),
    )
    kwargs = {"launcher": launcher} if launcher is not None else {}
    return ScheduleDaemon(config, clock=clock, **kwargs)


def wait_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_one_minute_schedule_starts_a_real_crawl(tmp_path, rules, make_sample_site):
    site = make_sample_site(books=10).url
    write_rule(rules, f'{{cron: "* * * * *", args: {{site: "{site}"}}}}')
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock)
    try:
        daemon.tick()
        assert daemon.jobs["sample_books"].next_run == datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
        assert not daemon.running
        clock.advance(seconds=30)
        daemon.tick()
        run = daemon.running["sample_books"]
        assert run.trigger == "schedule"
        record = daemon.wait_for("sample_books", timeout=60)
    finally:
        daemon.shutdown()
    assert record["exit_status"] == 0
    assert record["finish_reason"] == "finished" and record["items"] > 0  # the crawl's own record
    assert record["scheduled_for"] == "2026-03-01T12:01:00.000Z"
    assert Path(record["log_file"]).exists()
    from crawler.store import open_store

    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        (stored,) = store.runs(rule="sample_books")
    assert stored["exit_status"] == 0 and stored["log_file"] == record["log_file"]
    # one id: the daemon's is the crawl's own, in its record, its stats and its log's name
    assert stored["run_id"] == run.run_id == stored["stats"]["run/id"]
    assert stored["schedule_run_id"] == run.run_id
    assert Path(stored["log_file"]).name.endswith(f"-{run.run_id[:8]}.log")
    # coverage per page type, with the item type the rule routes it to (rules/types/book.yaml)
    assert stored["coverage"]["book"]["item_type"] == "book"
    assert stored["coverage_item_types"]["book"]["page_types"] == ["book"]


def test_runs_never_overlap_and_failures_are_retried(tmp_path, rules, launcher):
    write_rule(rules, '{cron: "* * * * *", retries: 1, retry_delay: 10s}')
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 59, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock, launcher)
    daemon.tick()
    clock.advance(seconds=1)  # 12:01: due
    daemon.tick()
    assert len(launcher.started) == 1
    run_id = daemon.running["sample_books"].run_id
    argv = launcher.argvs[0]  # the crawl takes the daemon's run id as its own
    assert f"RUN_ID={run_id}" in argv and f"SCHEDULE_RUN_ID={run_id}" in argv
    clock.advance(minutes=1)  # 12:02: due again, but the first run goes on
    daemon.tick()
    assert len(launcher.started) == 1
    assert daemon.jobs["sample_books"].skipped_overlap == 1

    launcher.started[0].kill()  # the crawl dies: a failed run
    launcher.started[0].wait()
    launcher.seconds = 0
    launcher.status = 3
    daemon.tick()
    assert not daemon.running
    assert daemon.finished[-1]["exit_status"] == -9
    assert daemon.finished[-1]["finish_reason"] == "process_failed"
    clock.advance(seconds=10)
    daemon.tick()  # the retry
    assert len(launcher.started) == 2
    assert daemon.running["sample_books"].trigger == "retry"
    launcher.started[1].wait()
    clock.advance(seconds=1)
    daemon.tick()
    assert daemon.finished[-1]["attempt"] == 2 and daemon.finished[-1]["exit_status"] == 3
    clock.advance(seconds=30)  # 12:02:41: no third attempt, the retry bound is 1
    daemon.tick()
    assert len(launcher.started) == 2
    assert daemon.jobs["sample_books"].retry_at is None


@pytest.mark.parametrize(
    ("code", "retried"),
    [(1, True), (2, False), (3, False), (4, True), (5, True), (6, True), (7, False), (8, True)],
)
def test_only_statuses_worth_another_attempt_are_retried(tmp_path, rules, launcher, code, retried):
    write_rule(rules, '{cron: "* * * * *", retries: 2, retry_delay: 10s}')
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 59, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock, launcher)
    launcher.seconds, launcher.status = 0, code
    daemon.tick()
    clock.advance(seconds=1)
    daemon.tick()
    launcher.started[0].wait()
    daemon.tick()
    record = daemon.finished[-1]
    assert (record["exit_status"], record["status"]) == (code, STATUSES[code])
    assert (daemon.jobs["sample_books"].retry_at is not None) == retried


def test_rule_changes_are_picked_up_without_restart(tmp_path, rules, launcher):
    path = write_rule(rules, '{cron: "* * * * *"}')
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock, launcher)
    daemon.tick()
    assert daemon.jobs["sample_books"].next_run.minute == 1

    text = path.read_text(encoding="utf-8").replace('"* * * * *"', '"30 14 * * *"')
    path.write_text(text, encoding="utf-8")
    daemon.tick()
    assert daemon.jobs["sample_books"].next_run == datetime(2026, 3, 1, 14, 30, tzinfo=UTC)

    path.write_text(text.replace("cron:", "cron_typo:"), encoding="utf-8")
    daemon.tick()  # a broken file keeps its last good schedule
    assert "sample_books" in daemon.jobs

    path.unlink()
    daemon.tick()
    assert daemon.jobs == {}
    write_rule(rules, '{cron: "@hourly", timezone: "Asia/Kolkata"}')
    daemon.tick()
    # Kolkata is UTC+5:30: its full hours fall on the half hours of UTC
    assert daemon.jobs["sample_books"].next_run == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert launcher.started == []


@pytest.mark.parametrize("catch_up", [True, False])
def test_missed_runs_catch_up_or_skip(tmp_path, rules, launcher, catch_up):
    write_rule(rules, f'{{cron: "0 * * * *", catch_up: {str(catch_up).lower()}}}')
    clock = FakeClock(datetime(2026, 3, 1, 9, 59, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock, launcher, store=False)
    daemon.tick()
    clock.advance(minutes=1)
    daemon.tick()  # 10:00 run
    assert len(launcher.started) == 1
    launcher.stop_all()
    daemon.tick()
    # the daemon is down from 10:00:01 to 12:30: the 11:00 and 12:00 runs are missed
    clock.now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    restarted = make_daemon(tmp_path, rules, clock, launcher, store=False)
    restarted.tick()
    assert len(launcher.started) == (2 if catch_up else 1)
    if catch_up:
        assert restarted.running["sample_books"].trigger == "catch_up"
    assert restarted.jobs["sample_books"].next_run == datetime(2026, 3, 1, 13, tzinfo=UTC)
    restarted.shutdown()


def test_run_now_and_list_commands(tmp_path, rules):
    write_rule(rules, '{cron: "15 3 * * 1", timezone: "America/New_York"}')
    from tests.crawler.crawl import scrapy

    common = ("-s", f"RULES_DIR={rules}", "-s", f"SCHEDULE_DIR={tmp_path / 'schedule'}")
    listing = scrapy("schedule", "--list", *common)
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"sample_books\s+15 3 \* \* 1\s+\d{4}-\d\d-\d\d 03:15 E[SD]T", listing.stdout)

    unknown = scrapy("schedule", "--run-now", "nope", *common)
    assert unknown.returncode != 0 and "no rule named 'nope'" in unknown.stderr

    # --tag: only the rules with one of the tags (sample_books has none)
    other = scrapy("schedule", "--list", "--tag", "gov", *common)
    assert other.returncode == 0 and "no rule tagged gov in" in other.stdout
    path = rules / "sample_books.yaml"
    path.write_text(path.read_text().replace("\nstart:", "\ntags: [gov]\nstart:", 1))
    tagged = scrapy("schedule", "--list", "--tag", "gov", "--tag", "news", *common)
    assert re.search(r"sample_books\s+15 3 \* \* 1", tagged.stdout), tagged.stdout + tagged.stderr


def test_daemon_command_starts_and_stops_on_sigterm(tmp_path, rules):
    import os
    import signal

    write_rule(rules, '{cron: "0 0 1 1 *"}')
    log = tmp_path / "daemon.log"
    cmd = [
        sys.executable, "-m", "scrapy.cmdline", "schedule",
        "-s", f"RULES_DIR={rules}", "-s", f"SCHEDULE_DIR={tmp_path / 'schedule'}",
    ]  # fmt: skip
    with open(log, "w") as out:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "scheduler started" in log.read_text())
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert "scheduled sample_books (0 0 1 1 * UTC): next run" in text
    assert "Traceback" not in text


def test_daemons_on_two_machines_share_a_lock_in_redis(tmp_path, rules, launcher, redis_url):
    from dataclasses import replace

    write_rule(rules, '{cron: "* * * * *"}')
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 59, tzinfo=UTC))
    daemons = []
    for machine in ("a", "b"):  # separate state dirs: no lock file in common
        daemon = make_daemon(tmp_path / machine, rules, clock, launcher, store=False)
        daemon = ScheduleDaemon(
            replace(daemon.config, redis_url=redis_url), clock=clock, launcher=launcher
        )
        daemon.tick()
        daemons.append(daemon)
    clock.advance(seconds=1)
    for daemon in daemons:
        daemon.tick()
    assert len(launcher.started) == 1
    assert sum(1 for d in daemons if d.running) == 1

    launcher.stop_all()  # the run ends: the lock is released, the next run may go anywhere
    for daemon in daemons:
        daemon.tick()
    clock.advance(minutes=1)
    for daemon in daemons:
        daemon.tick()
    assert len(launcher.started) == 2


def test_a_paused_schedule_lets_its_fire_times_pass_until_resumed(tmp_path, rules, launcher):
    from crawler.schedule.pauses import Pauses

    write_rule(rules, '{cron: "* * * * *"}')
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 59, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock, launcher)
    Pauses(tmp_path / "schedule").pause("sample_books")
    daemon.tick()
    clock.advance(seconds=1)  # 12:01: due, but paused
    daemon.tick()
    assert launcher.started == []
    assert daemon.jobs["sample_books"].next_run == datetime(2026, 3, 1, 12, 2, tzinfo=UTC)
    assert daemon.listing()[0]["paused"] is True
    Pauses(tmp_path / "schedule").resume("sample_books")
    clock.advance(minutes=1)  # 12:02: runs again
    daemon.tick()
    assert len(launcher.started) == 1


SEVERAL = """
  - {name: hourly, cron: "0 * * * *", args: {site: "http://127.0.0.1:9/a"}}
  - {cron: "30 * * * *", timezone: Asia/Shanghai, args: {site: "http://127.0.0.1:9/b"}}"""


def test_several_schedules_of_one_rule_each_run_with_their_own_arguments(tmp_path, rules, launcher):
    write_rule(rules, SEVERAL)
    launcher.seconds = 0.2
    clock = FakeClock(datetime(2026, 3, 1, 11, 59, 30, tzinfo=UTC))
    daemon = make_daemon(tmp_path, rules, clock, launcher)
    try:
        daemon.tick()
        assert sorted(daemon.jobs) == ["sample_books#2", "sample_books#hourly"]
        rows = {row["rule"]: row for row in daemon.listing()}
        assert rows["sample_books#2"]["timezone"] == "Asia/Shanghai"
        clock.advance(seconds=30)  # 12:00: the hourly one
        daemon.tick()
        assert "site=http://127.0.0.1:9/a" in launcher.argvs[-1]
        daemon.wait_for("sample_books", timeout=30)
        clock.advance(minutes=30)  # 12:30: the other one, with its own site
        daemon.tick()
        assert "site=http://127.0.0.1:9/b" in launcher.argvs[-1] and len(launcher.argvs) == 2
        daemon.wait_for("sample_books", timeout=30)
    finally:
        daemon.shutdown()
    state = (tmp_path / "schedule").glob("*.json")
    assert any("sample_books#hourly" in p.read_text() for p in state)


def test_several_schedules_are_checked_one_by_one(rules):
    from crawler.rules import RuleError, load_rule

    bad = SEVERAL.replace("name: hourly", "name: '2'").replace("args: {site:", "args: {sit:", 1)
    path = write_rule(rules, bad)
    with pytest.raises(RuleError) as caught:
        load_rule(path)
    messages = [f"{p.path}: {p.message}" for p in caught.value.problems]
    assert (
        "schedule[0].args.sit: argument 'sit' is not declared under args (did you mean 'site'?)"
        in messages
    )
    # the second has no name: its place, 2, which the first took
    assert "schedule[1].name: two schedules are named '2'" in messages and len(messages) == 2
    both = SEVERAL.replace("name: hourly", "name: x").replace('{cron: "30', '{name: x, cron: "30')
    with pytest.raises(RuleError) as caught:
        load_rule(write_rule(rules, both))
    assert [p.message for p in caught.value.problems] == ["two schedules are named 'x'"]
