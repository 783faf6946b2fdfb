"""Chained runs (``after:``) in the scheduler daemon, in-process: a fake clock and stand-in crawl
processes whose end the test decides. A successor starts once, after every predecessor's run
ended with an allowed status, and never for a disallowed one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from crawler.schedule import Chains
from crawler.schedule.daemon import DaemonConfig, ScheduleDaemon

BASE = """\
args: {site: "http://x"}
start: [{url: "{site}/", page: index}]
pages:
  index: {fields: {title: {css: h1}}}
"""


class FakeProc:
    """A crawl process that ends when the test says, with the exit status it says."""

    pid = 4242

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.code: int | None = None

    def poll(self) -> int | None:
        return self.code

    def wait(self, timeout: float | None = None) -> int | None:
        return self.code

    def send_signal(self, signal: int) -> None:
        self.code = -signal

    def kill(self) -> None:
        self.code = -9


class FakeLauncher:
    def __init__(self) -> None:
        self.procs: list[FakeProc] = []

    def __call__(self, argv: list[str], log_file: Path) -> FakeProc:
        self.procs.append(FakeProc(argv))
        return self.procs[-1]

    def rules(self) -> list[str]:
        return [proc.argv[1] for proc in self.procs]


def write(rules: Path, name: str, extra: str = "") -> None:
    (rules / f"{name}.yaml").write_text(f"name: {name}\n{BASE}{extra}", encoding="utf-8")


def end(daemon: ScheduleDaemon, rule: str, code: int) -> str:
    """End the running crawl of ``rule`` with ``code``, let the daemon tick; its run id."""
    run = daemon.running[rule]
    run.proc.code = code
    daemon.tick()
    return run.run_id


def test_a_successor_starts_once_after_all_its_predecessors_ended_as_allowed(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules, "list_a", "tags: [lists]\n")
    write(rules, "list_b", "tags: [lists]\n")
    write(rules, "detail", "after: {tags: [lists]}\n")  # after both
    write(rules, "export", "after: {rules: [list_a], when: [finished, monitor_failed]}\n")
    launcher = FakeLauncher()
    config = DaemonConfig(rules_dir=rules, state_dir=tmp_path / "schedule")
    clock = lambda: datetime(2026, 3, 1, 12, tzinfo=UTC)  # noqa: E731
    daemon = ScheduleDaemon(config, clock=clock, launcher=launcher)
    daemon.tick()

    daemon.start("list_a", trigger="manual")
    a1 = end(daemon, "list_a", 0)
    # export needs list_a only: started, with the run that started it; detail waits for list_b
    assert launcher.rules() == ["list_a", "export"]
    assert daemon.running["export"].trigger == "chain"
    assert daemon.running["export"].triggered_by == (a1,)
    end(daemon, "export", 0)
    assert daemon.finished[-1]["triggered_by"] == [a1] and daemon.finished[-1]["trigger"] == "chain"

    daemon.start("list_b", trigger="manual")
    end(daemon, "list_b", 1)  # failed: not an allowed status
    assert "detail" not in launcher.rules()
    daemon.start("list_b", trigger="manual")
    b2 = end(daemon, "list_b", 0)
    assert launcher.rules().count("detail") == 1  # both ended as allowed since detail's last run
    assert daemon.running["detail"].triggered_by == (a1, b2)
    daemon.tick()
    end(daemon, "detail", 0)
    daemon.tick()
    assert launcher.rules().count("detail") == 1  # once: it waits for new runs of both now

    daemon.start("list_a", trigger="manual")
    end(daemon, "list_a", 7)  # monitor_failed: allowed for export, not for detail
    daemon.start("list_b", trigger="manual")
    end(daemon, "list_b", 0)
    assert launcher.rules().count("export") == 2 and launcher.rules().count("detail") == 1
    assert Chains(tmp_path / "schedule").pending()["detail"] == {
        "list_b": daemon.finished[-1]["schedule_run_id"]
    }


def test_a_due_successor_that_is_running_starts_when_its_run_ends(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules, "first")
    write(rules, "second", "after: {rules: [first], when: [finished, failed]}\n")
    launcher = FakeLauncher()
    config = DaemonConfig(rules_dir=rules, state_dir=tmp_path / "schedule")
    daemon = ScheduleDaemon(config, launcher=launcher)
    daemon.tick()
    daemon.start("second", trigger="manual")  # running when first ends
    daemon.start("first", trigger="manual")
    f1 = end(daemon, "first", 1)
    assert launcher.rules() == ["second", "first"]
    end(daemon, "second", 0)  # its own run ended: now the chained one starts
    assert launcher.rules() == ["second", "first", "second"]
    assert daemon.running["second"].triggered_by == (f1,)
