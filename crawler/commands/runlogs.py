"""What ``scrapy store runs`` and ``scrapy store log`` show: the runs table (running crawls with
their live counters, and crawls that died while running), finding a run, following its log.

Its figures are crawler/runs' (``errors``: :func:`crawler.runs.run_errors`), the ones the data
service and the monitors show."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from crawler.runs import run_errors
from crawler.store.base import Store

MAX_IDENT = 200  # characters of a RUN argument
RUNS_SCANNED = 10_000  # records searched for a run id's first characters

COLUMNS = (
    ("run", lambda r: str(r.get("run_id") or "?")[:8]),
    ("started", lambda r: str(r.get("started_at") or "?")),
    ("rule", lambda r: str(r.get("rule"))),
    ("status", lambda r: shown_status(r)),
    ("exit", lambda r: "" if r.get("exit_code") is None else str(r.get("exit_code"))),
    ("pages", lambda r: str(r.get("pages", 0))),
    ("items", lambda r: str(r.get("items", 0))),
    ("new", lambda r: str(r.get("new", 0))),
    ("upd", lambda r: str(r.get("updated", 0))),
    ("same", lambda r: str(r.get("unchanged", 0))),
    ("dead", lambda r: str(r.get("dead", 0))),
    ("spilled", lambda r: str(r.get("spilled", 0))),
    ("errors", lambda r: str(run_errors(r).total)),
    ("bans", lambda r: str(r.get("bans", 0))),
    ("queued", lambda r: "" if r.get("queued") is None else str(r.get("queued"))),
)


def shown_status(run: dict[str, Any]) -> str:
    """A record's status; a ``running`` one whose process is gone (on this machine) is
    ``died``. Records from before exit statuses existed show their finish reason.

    >>> shown_status({"status": "finished"}), shown_status({"finish_reason": "shutdown"})
    ('finished', 'shutdown')
    """
    status = run.get("status") or run.get("finish_reason") or "?"
    if status == "running" and run.get("host") == socket.gethostname():
        pid = run.get("pid")
        if isinstance(pid, int) and not _alive(pid):
            return "died"
    return str(status)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runs_table(runs: list[dict[str, Any]]) -> str:
    header = [name for name, _ in COLUMNS]
    rows = [[cell(run) for _, cell in COLUMNS] for run in runs]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


class NoRun(LookupError):
    """No run, or more than one, answers to what the user gave: the message says which."""


def find_run(store: Store, ident: str) -> dict[str, Any]:
    """The run whose id is ``ident`` (or the id a launcher gave it before run ids were one),
    else whose id starts with ``ident``, else the latest run of the rule ``ident``; NoRun
    with a one-line message when none (or several) match."""
    if not ident or len(ident) > MAX_IDENT:
        raise NoRun(f"a run id is 1 to {MAX_IDENT} characters")
    exact = store.get_run(ident)
    if exact is not None:
        return exact
    matches = [
        r for r in store.runs(limit=RUNS_SCANNED) if str(r.get("run_id", "")).startswith(ident)
    ]
    if len(matches) > 1:
        ids = ", ".join(str(r["run_id"]) for r in matches[:5])
        raise NoRun(f"{ident!r} starts several run ids ({ids}): give more of it")
    if matches:
        return matches[0]
    latest = store.runs(rule=ident, limit=1)
    if latest:
        return latest[0]
    raise NoRun(
        f"no run matches {ident!r}: give a run id (`scrapy store runs` shows them), its first "
        "characters, or a rule name"
    )


def follow_log(store: Store, run: dict[str, Any], path: Path, follow: bool) -> None:
    """Print the log; with ``follow``, keep printing what is added while the run is running."""
    out = sys.stdout
    with path.open(encoding="utf-8", errors="replace") as log:
        out.write(log.read())
        out.flush()
        if not follow:
            return
        try:
            while _still_running(store, run):
                chunk = log.read()
                if chunk:
                    out.write(chunk)
                    out.flush()
                else:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            return
        out.write(log.read())  # the last lines, written before the final record
        out.flush()


def _still_running(store: Store, run: dict[str, Any]) -> bool:
    record = store.get_run(str(run.get("run_id")))
    return record is not None and shown_status(record) == "running"
