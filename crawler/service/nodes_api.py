"""Nodes API (``/api/nodes``): the fleet of Scrapyd nodes as the dashboard's Nodes page and
``scrapy nodes`` see it: health, load, deployed version and running crawls of each node (the
watch's last look, :class:`crawler.nodes.NodeWatch`), registering nodes (admin; their passwords
never come back), deploying the project (editor), and starting crawls there: one on a chosen or
the least loaded node, or a distributed run of N workers (editor). Runs on nodes are run
records like any other (``/api/runs``); their logs come from their nodes.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from crawler.nodes import (
    Fleet,
    NodeError,
    NodesError,
    NodeWatch,
    add_node,
    log_source,
    node_launcher,
    remove_node,
    start_distributed,
    stop_run,
)
from crawler.service.access import Admin, Editor, read_access
from crawler.service.gate import GatedRoute
from crawler.service.launcher import RuleBusy
from crawler.service.rules_api import Scalar, runnable

router = APIRouter(prefix="/api/nodes", tags=["nodes"], route_class=GatedRoute)


class FleetState:
    """The service's fleet: the nodes, their watch (a thread of its own), dispatch."""

    def __init__(self, settings: Any, stores: Any) -> None:
        self.settings = settings
        self.fleet = Fleet(settings)
        self.stores = stores
        self.watch = NodeWatch(self.fleet, store=stores.get)

    def configured(self) -> bool:
        return self.fleet.configured()

    def dispatcher(self, node: str | None = None) -> Any:
        """The launcher of a run now: on a node when nodes are configured and dispatch is
        theirs (``NODES_DISPATCH``) or a node is named, else None (here)."""
        if node is None and (
            self.settings.get("NODES_DISPATCH") == "local" or not self.configured()
        ):
            return None
        return node_launcher(self.fleet, self.stores.get, node)

    def log_source(self, record: dict[str, Any], worker: str | None) -> Any:
        return log_source(self.fleet, record, worker)

    def rows(self) -> tuple[list[dict[str, Any]], float | None]:
        """The watch's last look while it is fresh and of the nodes there are, else a new one."""
        snapshot = self.watch.snapshot
        fresh = (
            self.watch.checked_at is not None
            and time.time() - self.watch.checked_at < 3 * self.watch.interval
            and [r["name"] for r in snapshot] == [n.name for n in self.fleet.nodes()]
        )
        if fresh:
            return snapshot, self.watch.checked_at
        return self.fleet.status(), time.time()

    def live_workers(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """A distributed run's workers with their live figures (heartbeats: rate, memory)."""
        beats = (
            {b.get("run_id"): b for b in self.fleet.heartbeats()}
            if record.get("status") == "running"
            else {}
        )
        workers = []
        for entry in record.get("workers") or []:
            beat = beats.get(entry.get("worker")) or {}
            workers.append(
                {
                    **entry,
                    "rate": beat.get("rate"),
                    "rss": beat.get("rss"),
                    **(
                        {"pid": beat["pid"], "pages": beat["pages"], "items": beat["items"]}
                        if beat
                        else {}
                    ),
                }
            )
        return workers

    def metric_families(self) -> list[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(
            "crawler_node_up", "1 when the Scrapyd node answered the last check", labels=["node"]
        )
        jobs = GaugeMetricFamily(
            "crawler_node_jobs", "Scrapyd jobs on the node by state", labels=["node", "state"]
        )
        workers = GaugeMetricFamily(
            "crawler_node_crawls", "Crawls heartbeating from the node", labels=["node"]
        )
        memory = GaugeMetricFamily(
            "crawler_node_crawl_resident_memory_bytes",
            "Resident memory of the node's crawls, summed",
            labels=["node"],
        )
        for row in self.watch.snapshot:
            up.add_metric([row["name"]], 1.0 if row["status"] == "online" else 0.0)
            for state in ("pending", "running", "finished"):
                if isinstance(row.get(state), int):
                    jobs.add_metric([row["name"], state], float(row[state]))
            workers.add_metric([row["name"]], float(len(row["workers"])))
            memory.add_metric([row["name"]], float(sum(w.get("rss") or 0 for w in row["workers"])))
        return [up, jobs, workers, memory]

    def stop(self, record: dict[str, Any]) -> list[str]:
        return stop_run(self.fleet, record)


def fleet_of(request: Request) -> FleetState:
    return request.app.state.fleet


class NodeEntry(BaseModel):
    name: str = Field(min_length=1, max_length=63)
    url: str = Field(min_length=1, max_length=2000)
    username: str = Field(default="", max_length=200)
    password: str = Field(default="", max_length=1000)
    slots: int = Field(default=0, ge=0, le=10_000)


class DeployRequest(BaseModel):
    nodes: list[str] | None = Field(default=None, max_length=1000)


class NodeRun(BaseModel):
    rule: str = Field(min_length=1, max_length=200)
    args: dict[str, Scalar] = Field(default_factory=dict)
    node: str | None = Field(default=None, max_length=63)
    workers: int | None = Field(default=None, ge=1, le=1000)


@router.get("", dependencies=[Depends(read_access)])
def list_nodes(request: Request) -> dict[str, Any]:
    state = fleet_of(request)
    try:
        rows, checked = state.rows()
        current = state.fleet.digest()
    except NodesError as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        "nodes": rows,
        "checked_at": checked,
        "current": current,
        "dispatch": state.settings.get("NODES_DISPATCH"),
        "alerts": state.watch.alerts_sent[-20:],
    }


@router.post("", status_code=201)
def register(request: Request, body: NodeEntry, who: Admin) -> dict[str, Any]:
    try:
        node = add_node(
            request.app.state.settings,
            body.name,
            body.url,
            body.username,
            body.password,
            body.slots,
        )
    except NodesError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"node": node.public()}


@router.delete("/{name}")
def unregister(request: Request, name: str, who: Admin) -> dict[str, Any]:
    try:
        removed = remove_node(request.app.state.settings, name)
    except NodesError as exc:
        raise HTTPException(409, str(exc)) from None
    if not removed:
        raise HTTPException(404, f"no node {name!r} was added here")
    return {"removed": True}


@router.post("/deploy")
def deploy(request: Request, who: Editor, body: DeployRequest | None = None) -> dict[str, Any]:
    try:
        egg, results = fleet_of(request).fleet.deploy(body.nodes if body else None)
    except NodesError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"version": egg.version, "results": results}


@router.post("/runs")
def run_on_nodes(request: Request, body: NodeRun, who: Editor) -> dict[str, Any]:
    args = runnable(request, body.rule, body.args)
    state = fleet_of(request)
    try:
        if body.workers:
            config = request.app.state.config
            record = start_distributed(
                state.fleet, request.app.state.stores.get(), body.rule, args, body.workers,
                nodes=[body.node] if body.node else None, trigger="service",
                log_dir=config.schedule_dir / "logs",
            )  # fmt: skip
            return {"run_id": record["run_id"]}
        run = request.app.state.launcher.start(
            body.rule,
            args,
            state.dispatcher(body.node or None) or node_launcher(state.fleet, state.stores.get),
        )
    except NodesError as exc:
        raise HTTPException(422, str(exc)) from None
    except RuleBusy as exc:
        raise HTTPException(409, str(exc)) from None
    except (NodeError, OSError) as exc:
        raise HTTPException(502, str(exc)) from None
    return {"run_id": run.run_id}
