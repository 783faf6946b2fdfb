"""A distributed run on the fleet: one record for the whole run, whatever its workers do.

:func:`start_distributed` seeds the rule's Redis queue once, writes the run's record (``status:
running``, ``distributed: true``, ``workers``: node and job of each) and starts N workers spread
over the nodes, least loaded first. Each worker is a crawl of its own whose record is a *part*
of the run (``part_of``: the run's id; lists of runs leave parts out).

:func:`settle` (the data service's watch calls it every check, ``scrapy nodes run --wait`` while
it waits) brings the run's record up to date: the counters are the sum of its workers' records;
each worker's state is its job's on its node; the workers' logs are appended to the run's own
log file as they grow, each line prefixed with ``[node worker]``. When no worker is pending or
running any more the run ends: its status is the first of its workers' statuses that is not
``finished`` (else ``finished``); a worker whose process ended without a final record (killed,
its node gone) is *lost*, which the record says (``status_reason``, ``lost_workers``), and its
requests were finished by the others (their leases: docs/distributed.md). A run whose every
worker was lost failed.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.core.exitcodes import EXIT_CODES
from crawler.nodes.fleet import Fleet
from crawler.nodes.registry import NodesError
from crawler.nodes.scrapyd import Node, NodeError

logger = logging.getLogger(__name__)

COUNTERS = (
    "pages", "items", "new", "updated", "unchanged", "dead", "spilled", "lost", "journal_kept",
    "replayed", "errors", "request_errors", "spider_exceptions", "log_errors", "bans",
)  # fmt: skip
MAX_LOG_READ = 256 * 1024  # bytes of one worker's log appended per settle


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def start_distributed(
    fleet: Fleet,
    store: Any,
    rule: str,
    args: Mapping[str, str],
    workers: int,
    *,
    nodes: list[str] | None = None,
    run_id: str | None = None,
    trigger: str = "manual",
    settings: Mapping[str, Any] = {},
    log_dir: Path | None = None,
) -> dict[str, Any]:
    """Seed once, then ``workers`` crawls spread over ``nodes`` (default: all), least loaded
    first. Raises NodeError when nothing could start."""
    if not 1 <= workers <= 1000:
        raise NodeError("workers: 1 to 1000")
    run_id = run_id or uuid.uuid4().hex[:24]
    ranked = fleet.least_loaded([fleet.node(n) for n in nodes] if nodes else None)
    digest = fleet.digest()
    versions = {node.name: fleet.deployed_version(node, digest) for node in ranked}
    fleet.seed(rule, args)
    started = now_iso()
    log_file = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        safe = re.sub(r"[^\w.-]", "_", rule)
        log_file = str(log_dir / f"{safe}-{stamp}-{run_id[:8]}.log")
        Path(log_file).touch()
    record: dict[str, Any] = {
        "run_id": run_id,
        "rule": rule,
        "distributed": True,
        "trigger": trigger,
        "status": "running",
        "exit_code": None,
        "status_reason": "",
        "started_at": started,
        "updated_at": started,
        "finished_at": None,
        "log_file": log_file,
        "workers": [],
        **dict.fromkeys(COUNTERS, 0),
    }
    store.record_run(record)
    failures = []
    for k in range(workers):
        node = ranked[k % len(ranked)]
        job = f"{run_id}.{k + 1}"
        # seeded already: a worker that starts after the queue ran dry stops once the crawl is
        # idle, instead of waiting DISTRIBUTED_SEED_TIMEOUT for a seed that came before it
        own = {
            "DISTRIBUTED": "1",
            "DISTRIBUTED_SEED_TIMEOUT": "0",
            "RUN_ID": job,
            "FLEET_RUN_ID": run_id,
            **settings,
        }
        entry = {"worker": job, "node": node.name, "job": job, "version": versions[node.name]}
        try:
            fleet.schedule(node, rule, job, args, own, versions[node.name])
            entry["state"] = "pending"
        except NodeError as exc:
            entry.update(state="not_started", error=str(exc))
            failures.append(str(exc))
        record["workers"].append(entry)
    if len(failures) == workers:
        record.update(
            status="start_error",
            exit_code=EXIT_CODES["start_error"],
            status_reason=f"no worker started: {failures[0]}",
            finished_at=now_iso(),
        )
    store.record_run(record)
    logger.info(
        "distributed run %s of %s: %d worker(s) on %s",
        run_id,
        rule,
        workers - len(failures),
        ", ".join(sorted({w["node"] for w in record["workers"]})),
    )
    return record


def nodes_by_name(fleet: Fleet) -> dict[str, Node]:
    """The configured nodes, read once for a whole look at a run (empty when misconfigured:
    its workers' nodes then count as away)."""
    try:
        return {node.name: node for node in fleet.nodes()}
    except NodesError:
        return {}


def settle(
    fleet: Fleet, store: Any, run_id: str, offsets: dict[str, int] | None = None
) -> dict[str, Any] | None:
    """The run's record brought up to date (and written when it changed); None: no such run."""
    record = store.get_run(run_id)
    if record is None or not record.get("distributed") or record.get("status") != "running":
        return record
    parts = {p.get("run_id"): p for p in store.run_parts(run_id)}
    nodes = nodes_by_name(fleet)
    open_workers, done, lost = 0, [], []
    workers = []
    for entry in record.get("workers") or []:
        entry = dict(entry)
        part = parts.get(entry["worker"]) or {}
        node = nodes.get(entry["node"])
        state = entry.get("state")
        if state != "not_started":
            state = fleet.job_state(node, entry["job"]) if node is not None else None
            if state is None:
                state = (
                    "away"
                    if node is not None
                    and fleet.away_for(node) < fleet.settings.getfloat("NODES_OFFLINE_AFTER")
                    else "lost"
                )
            elif state in ("finished", "unknown"):
                state = "finished" if part.get("status") not in (None, "running") else "lost"
        entry.update(
            state=state, status=part.get("status"), pid=part.get("pid"), host=part.get("host")
        )
        entry.update({k: part.get(k) or 0 for k in ("pages", "items", "errors", "bans")})
        if state in ("pending", "running", "away"):
            open_workers += 1
        elif state == "finished":
            done.append(part)
        elif state == "lost":
            lost.append(entry)
        workers.append(entry)
    if offsets is not None and record.get("log_file"):
        append_logs(fleet, nodes, record["log_file"], record["rule"], workers, offsets)
    merged = {**record, "workers": workers, "updated_at": now_iso()}
    for name in COUNTERS:
        merged[name] = sum(int(p.get(name) or 0) for p in parts.values())
    if open_workers == 0:
        merged.update(finish(done, lost, len(workers)))
    store.record_run(merged)
    return merged


def finish(done: list[dict[str, Any]], lost: list[dict[str, Any]], total: int) -> dict[str, Any]:
    statuses = [p.get("status") for p in done]
    status = next((s for s in statuses if s != "finished"), "finished") if done else "failed"
    reasons = []
    if lost:
        names = ", ".join(f"{w['worker']} on node {w['node']}" for w in lost)
        reasons.append(
            f"{len(lost)} of {total} worker(s) lost ({names})"
            + ("; the others finished their requests" if done else "")
        )
    bad = next((p for p in done if p.get("status") != "finished"), None)
    if bad is not None and bad.get("status_reason"):
        reasons.append(f"worker {bad.get('run_id')}: {bad['status_reason']}")
    return {
        "status": status,
        "exit_code": EXIT_CODES.get(status, 1),
        "status_reason": "; ".join(reasons),
        "lost_workers": len(lost),
        "finished_at": now_iso(),
        "finish_reason": "finished" if done else "workers_lost",
    }


def append_logs(
    fleet: Fleet,
    nodes: Mapping[str, Node],
    log_file: str,
    rule: str,
    workers: list[dict[str, Any]],
    offsets: dict[str, int],
) -> None:
    """Append what each worker's log gained since the last call, line by line, prefixed."""
    with open(log_file, "ab") as out:
        for entry in workers:
            node = nodes.get(entry["node"])
            if node is None or entry.get("state") in ("pending", "not_started", "lost", "away"):
                continue
            key = entry["worker"]
            try:
                data, _ = fleet.client(node).log(
                    fleet.project,
                    rule,
                    entry["job"],
                    offsets.get(key, 0),
                    MAX_LOG_READ,
                )
            except NodeError:
                continue
            if b"\n" not in data:
                continue
            data = data[: data.rindex(b"\n") + 1]  # whole lines only; the rest comes next time
            offsets[key] = offsets.get(key, 0) + len(data)
            prefix = f"[{entry['node']} {key}] ".encode()
            out.write(b"".join(prefix + line + b"\n" for line in data.splitlines()))


def stop_run(fleet: Fleet, record: Mapping[str, Any]) -> list[str]:
    """Cancel every job of a run on its nodes; the jobs cancelled."""
    jobs = [(w["node"], w["job"]) for w in record.get("workers") or []]
    if not jobs and record.get("node"):
        jobs = [(record["node"], record["run_id"])]
    nodes = nodes_by_name(fleet)
    cancelled = []
    for name, job in jobs:
        node = nodes.get(name)
        if node is not None and fleet.cancel(node, job) is not None:
            cancelled.append(job)
    return cancelled
