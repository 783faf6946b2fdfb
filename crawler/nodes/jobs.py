"""Crawls on nodes seen as local processes, and their logs there.

:class:`NodeJob` is what :func:`node_launcher` returns in place of a ``subprocess.Popen``: the
scheduler and the data service start, poll, stop and reap a crawl on a node exactly as a local
one (``poll`` asks Scrapyd for the job's state; its exit code is the crawl's run record's; a
node that does not answer for ``NODES_OFFLINE_AFTER`` seconds ends it with 1). :class:`JobLog`
reads a crawl's log from its node in bounded chunks.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from crawler.nodes.fleet import Fleet, crawl_argv
from crawler.nodes.registry import NodesError
from crawler.nodes.scrapyd import Node, NodeError

logger = logging.getLogger(__name__)


def log_source(fleet: Fleet, record: Mapping[str, Any], worker: str | None = None) -> JobLog:
    """The log of one of a run's workers (``worker``), or of a run on one node, on its node.
    LookupError: the run has no such worker, or did not run on a node."""
    if worker:
        entry = next((w for w in record.get("workers") or [] if w.get("worker") == worker), None)
        if entry is None:
            raise LookupError(f"run {record.get('run_id')!r} has no worker {worker!r}")
        name, job = entry["node"], entry["job"]
    elif record.get("node") and not record.get("workers"):
        name, job = record["node"], record["run_id"]
    else:
        raise LookupError(f"run {record.get('run_id')!r} did not run on a node")
    try:
        node = fleet.node(name)
    except NodesError as exc:
        raise LookupError(str(exc)) from None
    return JobLog(fleet, node, record["rule"], job)


def node_launcher(
    fleet: Fleet, store: Callable[[], Any] | None = None, node: str | None = None
) -> Callable[[list[str], Path], NodeJob]:
    """A ``launch_scrapy`` that starts the crawl on ``node``, else on the least loaded one."""

    def launch(argv: list[str], log_file: Path) -> NodeJob:
        rule, args, settings = crawl_argv(argv)
        try:
            target, job = fleet.start(
                rule, args, node=node, run_id=settings.get("RUN_ID"), settings=settings
            )
        except (NodeError, NodesError) as exc:
            raise OSError(str(exc)) from None
        with open(log_file, "a", encoding="utf-8") as out:
            out.write(f"dispatched to node {target.name} ({target.url}) as job {job}\n")
        return NodeJob(fleet, target, rule, job, store)

    return launch


class JobLog:
    """A crawl's log on its node, read in bounded chunks: ``read(offset, size) -> (bytes, size)``."""

    def __init__(self, fleet: Fleet, node: Node, rule: str, job: str) -> None:
        self.fleet, self.node, self.rule, self.job = fleet, node, rule, job

    def read(self, offset: int, size: int) -> tuple[bytes, int]:
        return self.fleet.client(self.node).log(
            self.fleet.project, self.rule, self.job, offset, size
        )


class NodeJob:
    """A crawl on a node, as a ``subprocess.Popen`` is seen by the scheduler and the service."""

    def __init__(
        self, fleet: Fleet, node: Node, rule: str, job: str, store: Callable[[], Any] | None
    ) -> None:
        self.fleet, self.node, self.rule, self.job, self.store = fleet, node, rule, job, store
        self.pid = 0
        self.returncode: int | None = None
        self.away_since: float | None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        state = self.fleet.job_state(self.node, self.job)
        if state is None:  # the node does not answer
            self.away_since = self.away_since or time.monotonic()
            if time.monotonic() - self.away_since < self.fleet.settings.getfloat(
                "NODES_OFFLINE_AFTER"
            ):
                return None
            self.returncode = 1
        elif state in ("pending", "running"):
            self.away_since = None
            return None
        else:
            self.returncode = self.recorded_exit_code()
        return self.returncode

    def recorded_exit_code(self) -> int:
        """The crawl's own exit code (its run record), 1 when it left none."""
        if self.store is not None:
            try:
                record = self.store().get_run(self.job) or {}
                if isinstance(record.get("exit_code"), int):
                    return record["exit_code"]
            except Exception as exc:
                logger.warning("cannot read run %s's record: %s", self.job, exc)
        return 1

    def send_signal(self, sig: int) -> None:
        self.fleet.cancel(self.node, self.job)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.send_signal(9)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"job {self.job}", timeout or 0)
            time.sleep(0.5)
        return self.returncode or 0
