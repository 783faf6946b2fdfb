"""A scheduled rule (:class:`Job`), a crawl it started (:class:`Running`), and how crawls are
started: ``scrapy crawl`` in a process of its own, its output in a log file."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.rules.model import Schedule
from crawler.schedule.locks import RuleLock, SharedRuleLock
from vocab.datadir import project_root

logger = logging.getLogger(__name__)


def launch_scrapy(argv: list[str], log_file: Path) -> subprocess.Popen:
    """Run ``scrapy ARGV`` from the project root, its output appended to ``log_file``."""
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scrapy.cmdline", *argv],
            cwd=project_root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(project_root)},
        )


def terminate(procs: list[subprocess.Popen], grace: float) -> None:
    """Stop crawls and wait for them: SIGTERM to each still running (Scrapy closes its crawl
    cleanly), then SIGKILL to one still running ``grace`` seconds after its turn came."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Job:
    """A scheduled rule, and where it stands."""

    rule: str
    schedule: Schedule
    next_run: datetime
    retry_at: datetime | None = None
    key: str = ""  # the job's own name: the rule's, or "rule#schedule" for one of several
    attempt: int = 0  # attempts made for the current fire time
    fire: datetime | None = None  # the fire time the current attempts belong to
    skipped_overlap: int = 0


@dataclass
class Running:
    rule: str
    run_id: str
    proc: subprocess.Popen
    lock: RuleLock
    log_file: Path
    started_at: datetime
    trigger: str  # schedule | catch_up | retry | manual
    attempt: int
    fire: datetime | None
    deadline: datetime | None
    shared_lock: SharedRuleLock | None = None
    terminated_at: datetime | None = None
    notes: list[str] = field(default_factory=list)
    job: str = ""  # the key of the job (schedule) that started it, if any
    triggered_by: tuple[str, ...] = ()  # a chained run: the predecessors' runs that started it


def listing(jobs: dict[str, Job], state: dict, pauses: Any) -> list[dict[str, Any]]:
    """Each scheduled rule with its next run, for ``scrapy schedule --list``."""
    rows = []
    for name in sorted(jobs):
        job = jobs[name]
        rows.append(
            {
                "rule": name,  # the job: the rule, or "rule#schedule" for one of several
                "cron": job.schedule.cron,
                "timezone": job.schedule.timezone,
                "next_run": job.next_run,
                "last_fire": state.get(name, {}).get("last_fire"),
                "catch_up": job.schedule.catch_up,
                "retries": job.schedule.retries,
                "paused": pauses.is_paused(job.rule),
            }
        )
    return rows


def job_key(rule: str, schedule: Schedule) -> str:
    """A schedule's job: the rule's name, or ``rule#name`` for one of several."""
    return f"{rule}#{schedule.name}" if schedule.name else rule


def read_state(path: Path) -> dict[str, dict[str, str]]:
    """The daemon's state (each job's last fire time); empty when there is none or it is
    unreadable (said once)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return {}


def write_state(path: Path, state: dict[str, dict[str, str]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
