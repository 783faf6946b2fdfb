"""Crawls started from the service ("run now"): ``scrapy crawl`` in a process of its own, as
the scheduler starts them (:func:`crawler.schedule.jobs.launch_scrapy`), under the same per-rule
lock, its output in a log file under ``SCHEDULE_DIR/logs``.

The run id made here is the crawl's (``RUN_ID``; also ``SCHEDULE_RUN_ID``, which older readers
look records up by): its run record, its log files' names, the API and ``scrapy store runs``
all show this one id. The crawl updates its record every ``SERVICE_RUN_UPDATE_INTERVAL``
seconds (its ``RUN_UPDATE_INTERVAL``), so that its run page moves from the start. When the
process ends, the exit status and log file are merged into that record, as the scheduler does
(:func:`crawler.schedule.scheduled_runs.complete_run_record`), through the service's own store.

Chained runs (``after:``) go through the scheduler's mechanism (:class:`crawler.schedule.Chains`,
state in ``SCHEDULE_DIR``): a crawl that ended here is told to it, and the rules it makes due
are started here, with ``trigger: chain`` and ``triggered_by`` in their records.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.rules import Rule
from crawler.schedule import (
    Chains,
    RuleLock,
    Trigger,
    launch_scrapy,
    settle_status,
    start_due,
    status_of,
    terminate,
)
from crawler.service.config import ServiceConfig
from crawler.store import Store

logger = logging.getLogger(__name__)

Launcher = Callable[[list[str], Path], subprocess.Popen]


class RuleBusy(RuntimeError):
    """The rule is being crawled already (from here, the scheduler or another process)."""


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ServiceRun:
    run_id: str
    rule: str
    proc: subprocess.Popen
    lock: RuleLock
    log_file: Path
    started_at: datetime
    args: dict[str, str] = field(default_factory=dict)
    terminated_at: datetime | None = None
    exit_code: int | None = None
    notes: list[str] = field(default_factory=list)
    triggered_by: tuple[str, ...] = ()  # a chained run: the runs that started it

    @property
    def trigger(self) -> str:
        return "chain" if self.triggered_by else "service"

    def chain_fields(self) -> dict[str, Any]:
        return {"triggered_by": list(self.triggered_by)} if self.triggered_by else {}

    def record(self) -> dict[str, Any]:
        """What the service knows of the run before the crawl's own record exists."""
        return {
            "run_id": self.run_id,
            "rule": self.rule,
            "status": "running" if self.exit_code is None else None,
            "exit_code": self.exit_code,
            "started_at": iso(self.started_at),
            "log_file": str(self.log_file),
            "trigger": self.trigger,
            **self.chain_fields(),
        }


class CrawlLauncher:
    def __init__(
        self,
        config: ServiceConfig,
        store: Callable[[], Store] | None = None,
        launcher: Launcher = launch_scrapy,
        rules: Callable[[], Mapping[str, Rule]] | None = None,
    ) -> None:
        self.config = config
        self.rules = rules  # the project's rules, for chained runs (None: none)
        self.chains = Chains(config.schedule_dir)
        self.closing = False  # shutting down: no chained run starts
        self.store = store  # this thread's open store (the service's), for run records
        self.launcher = launcher
        self.running: dict[str, ServiceRun] = {}
        self.finished: dict[str, ServiceRun] = {}  # recently ended, by run id
        self._lock = threading.Lock()

    def argv(self, rule: str, args: Mapping[str, str], run_id: str) -> list[str]:
        argv = ["crawl", rule]
        for name, value in args.items():
            argv += ["-a", f"{name}={value}"]
        own = {
            "RUN_ID": run_id,
            "SCHEDULE_RUN_ID": run_id,
            "RUN_UPDATE_INTERVAL": f"{self.config.run_update_interval:g}",
        }
        forwarded = [(n, v) for n, v in self.config.crawl_settings if n not in own]
        for name, value in [*forwarded, *own.items()]:
            argv += ["-s", f"{name}={value}"]
        return argv

    def start(
        self,
        rule: str,
        args: Mapping[str, str],
        launcher: Launcher | None = None,
        triggered_by: tuple[str, ...] = (),
    ) -> ServiceRun:
        """Start a crawl of ``rule`` here (or with ``launcher``: on a node, crawler/nodes)."""
        lock = RuleLock(self.config.schedule_dir / "locks", rule)
        if not lock.acquire():
            raise RuleBusy(f"{rule} is already being crawled")
        now = datetime.now(UTC)
        run_id = uuid.uuid4().hex
        log_dir = self.config.schedule_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / f"{rule}-{now.strftime('%Y%m%dT%H%M%SZ')}-{run_id[:8]}.log"
        try:
            proc = (launcher or self.launcher)(self.argv(rule, args, run_id), log_file)
        except OSError:
            lock.release()
            raise
        run = ServiceRun(run_id, rule, proc, lock, log_file, now, dict(args))
        run.triggered_by = tuple(triggered_by)
        with self._lock:
            self.running[run_id] = run
        self.chains.started(rule)
        logger.info("started %s (run %s, pid %d), log %s", rule, run_id, proc.pid, log_file)
        return run

    def find(self, run_id: str) -> ServiceRun | None:
        with self._lock:
            return self.running.get(run_id) or self.finished.get(run_id)

    def is_running(self, run_id: str) -> bool:
        with self._lock:
            run = self.running.get(run_id)
        return run is not None and run.proc.poll() is None

    def stop(self, run_id: str) -> bool:
        """SIGTERM (Scrapy closes the crawl cleanly), SIGKILL after ``SCHEDULE_STOP_GRACE``."""
        with self._lock:
            run = self.running.get(run_id)
        if run is None or run.proc.poll() is not None:
            return False
        if run.terminated_at is None:
            run.terminated_at = datetime.now(UTC)
            run.notes.append("stopped from the service")
            run.proc.send_signal(signal.SIGTERM)
            timer = threading.Timer(self.config.stop_grace, self._kill, args=(run,))
            timer.daemon = True
            timer.start()
        return True

    @staticmethod
    def _kill(run: ServiceRun) -> None:
        if run.proc.poll() is None:
            run.proc.kill()

    def reap(self) -> list[ServiceRun]:
        """Record the crawls that ended; the ones reaped."""
        with self._lock:  # moved in one step: find() never misses a run between the two
            ended = [r for r in self.running.values() if r.proc.poll() is not None]
            for run in ended:
                run.exit_code = run.proc.returncode
                del self.running[run.run_id]
                self.finished[run.run_id] = run
            while len(self.finished) > 100:
                self.finished.pop(next(iter(self.finished)))
        for run in ended:
            run.lock.release()
            status = self._record(run)
            self._chain_ended(run, status)
        self.start_chained()
        return ended

    def _rules(self) -> Mapping[str, Rule]:
        try:
            return self.rules() if self.rules is not None else {}
        except Exception as exc:  # a rules directory that cannot be read: no chains this time
            logger.error("cannot read the rules for chained runs: %s", exc)
            return {}

    def _chain_ended(self, run: ServiceRun, status: str) -> None:
        rules = self._rules()
        if rules:
            self.chains.ended(rules, run.rule, run.run_id, status)

    def start_chained(self) -> list[Trigger]:
        """Start the chained runs due (crawler/schedule/chains.py); the ones started."""
        if self.rules is None or self.closing or not self.chains.path.exists():
            return []
        if not any(self.chains.pending().values()):  # nothing noted: no need to read the rules
            return []
        return start_due(self.chains, self._rules(), self._start_trigger)

    def _start_trigger(self, trigger: Trigger) -> bool:
        try:
            self.start(trigger.rule, {}, triggered_by=trigger.run_ids)
        except RuleBusy:  # running: it stays due, and starts when this run has ended
            return False
        return True

    def _record(self, run: ServiceRun) -> str:
        """Record the run that ended; its status."""
        status = status_of(run.exit_code if run.exit_code is not None else 1)
        record = {
            "schedule_run_id": run.run_id,
            "rule": run.rule,
            "process_started_at": iso(run.started_at),
            "process_finished_at": iso(datetime.now(UTC)),
            "exit_status": run.exit_code,
            "exit_code": run.exit_code,
            "log_file": str(run.log_file),
            "trigger": run.trigger,
            "attempt": 1,
            "notes": run.notes,
            **run.chain_fields(),
        }
        if self.store is None:
            return status
        try:
            store = self.store()
            merged = store.get_run(run.run_id)  # the crawl's own record, found by its run id
            if merged is None:
                merged = {
                    "run_id": run.run_id,
                    "rule": run.rule,
                    "started_at": record["process_started_at"],
                    "finished_at": record["process_finished_at"],
                    "finish_reason": "exited" if run.exit_code == 0 else "process_failed",
                    "pages": 0,
                    "items": 0,
                }
            merged = {**merged, **record}
            settle_status(merged, run.exit_code if run.exit_code is not None else 1)
            store.record_run(merged)
            status = merged.get("status") or status
        except Exception as exc:  # the store being down must not stop the service
            logger.error("%s: could not record run %s in the store: %s", run.rule, run.run_id, exc)
        return status

    def shutdown(self) -> None:
        """Stop the crawls started here (as the scheduler does when it stops), record them."""
        self.closing = True
        with self._lock:
            runs = list(self.running.values())
        for run in runs:
            if run.proc.poll() is None:
                run.notes.append("service stopped")
        terminate([run.proc for run in runs], self.config.stop_grace)
        self.reap()
