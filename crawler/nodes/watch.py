"""NodeWatch: the data service's eye on the fleet, on a thread of its own.

Every ``NODES_CHECK_INTERVAL`` seconds it asks every node for its status (kept for the Nodes
page and ``/metrics``), and brings every running distributed run's record up to date
(:func:`crawler.nodes.fleet_runs.settle`: counters, workers, merged log, the end). A node that
has not answered for ``NODES_OFFLINE_AFTER`` seconds is *offline*: logged once, and an alert
``node_offline`` goes through the alert desk (crawler/monitors/desk.py: channels, routes,
deduplication across restarts, quiet hours); when it answers again, ``node_online`` (the
desk's "resolved") says so. Its distributed
work is taken over by the other workers through their leases (docs/distributed.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from crawler.monitors import Subject, desk_for
from crawler.nodes.fleet import Fleet
from crawler.nodes.fleet_runs import settle
from crawler.nodes.registry import NodesError

logger = logging.getLogger(__name__)


class NodeWatch:
    def __init__(
        self,
        fleet: Fleet,
        store: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fleet = fleet
        self.store = store  # the calling thread's open store
        self.clock = clock
        self.interval = fleet.settings.getfloat("NODES_CHECK_INTERVAL")
        self.offline_after = fleet.settings.getfloat("NODES_OFFLINE_AFTER")
        self.snapshot: list[dict[str, Any]] = []
        self.checked_at: float | None = None
        self.failing_since: dict[str, float] = {}
        self.offline: set[str] = set()
        self.log_offsets: dict[str, dict[str, int]] = {}
        self.alerts_sent: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="node-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("node watch: a check failed")
            self._stop.wait(self.interval)

    def tick(self) -> None:
        try:
            rows = self.fleet.status()
        except NodesError as exc:
            logger.error("%s", exc)
            rows = []
        now = self.clock()
        for row in rows:
            self.judge(row, now)
        self.snapshot, self.checked_at = rows, time.time()
        if self.store is not None:
            self.settle_runs()

    def judge(self, row: dict[str, Any], now: float) -> None:
        name = row["name"]
        if row["status"] == "online":
            self.failing_since.pop(name, None)
            if name in self.offline:
                self.offline.discard(name)
                logger.warning("node %s answers again", name)
                self.alert(
                    "node_online", row, f"[crawler] node {name} is back online", [f"- {row['url']}"]
                )
            return
        since = self.failing_since.setdefault(name, now)
        row["failing_for"] = round(now - since, 1)
        if name not in self.offline and now - since >= self.offline_after:
            self.offline.add(name)
            logger.error("node %s is offline: %s", name, row.get("error"))
            lines = [
                f"- {row['url']}: {row.get('error')}",
                f"- not answering for {now - since:.0f} s; its distributed work is taken over by the other workers",
            ]
            self.alert("node_offline", row, f"[crawler] node {name} is offline", lines)
        if name in self.offline:
            row["status"] = "offline" if row["status"] != "unauthorized" else row["status"]

    def alert(self, event: str, row: dict[str, Any], title: str, lines: list[str]) -> None:
        body = {"event": event, "node": row["name"], "url": row["url"], "error": row.get("error")}
        sent: list[str] = []
        desk = desk_for(self.fleet.settings)
        if desk is not None:
            online = event == "node_online"
            check = {"name": "reachable", "ok": online, "message": str(row.get("error") or "")}
            outcome = desk.report(
                Subject(row["name"], kind="node"), [check], title, body, lines,
                resolved_event=body if online else None,
            )  # fmt: skip
            sent = outcome.sent
        self.alerts_sent.append({**body, "sent": sent, "at": time.time()})
        del self.alerts_sent[:-100]

    def settle_runs(self) -> None:
        store = self.store()
        for record in store.runs(limit=200):
            if record.get("distributed") and record.get("status") == "running":
                offsets = self.log_offsets.setdefault(record["run_id"], {})
                settled = settle(self.fleet, store, record["run_id"], offsets)
                if settled is not None and settled.get("status") != "running":
                    self.log_offsets.pop(record["run_id"], None)
                    logger.info(
                        "distributed run %s of %s: %s",
                        record["run_id"],
                        record["rule"],
                        settled["status"],
                    )
