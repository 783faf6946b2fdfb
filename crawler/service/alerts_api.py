"""Alerts API (``/api/alerts``) and the freshness board (``/api/freshness``).

- ``GET /api/alerts``: the channels (names of their environment variables, never values; whether
  each can send), the routes, the defaults (dedup window, quiet hours), the checks failing now
  and the alerts held for digests.
- Admins add, change and remove channels and routes (``PUT/DELETE /api/alerts/channels/{name}``,
  ``PUT /api/alerts/routes``): they are kept in ``ALERTS_FILE`` (mode 0600, outside the
  repository); the settings' own channels and routes are shown, not editable. ``POST
  /api/alerts/test`` sends a test message on a channel.
- ``GET /api/freshness``: every rule with its last new item, new items within its window, newest
  date and its freshness checks' verdicts, the stalest first.

The service's background thread calls :meth:`AlertsState.tick` every ``ALERT_FLUSH_INTERVAL``:
digests after quiet hours, and scheduled runs that did not start or end on time.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from crawler.monitors import (
    FRESHNESS_CHECKS,
    AlertConfig,
    AlertDesk,
    ChannelError,
    judge_freshness,
    measure_freshness,
    parse_channel,
    parse_route,
    rule_subject,
    staleness,
    write_file,
)
from crawler.schedule import Pauses, late_checks
from crawler.service.access import Admin, read_access
from crawler.service.gate import GatedRoute
from crawler.service.rules_api import project_state

logger = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"], route_class=GatedRoute)
MAX_BOARD = 2000  # rules on the freshness board


class AlertsState:
    """The service's alert desk: built from the settings and the admin's file on each use (an
    edit takes effect at once), one writer of the file at a time."""

    def __init__(self, settings: Any, stores: Any, schedule_dir: Any) -> None:
        self.settings = settings
        self.stores = stores
        self.schedule_dir = schedule_dir
        self.lock = threading.Lock()
        self.interval = settings.getfloat("ALERT_FLUSH_INTERVAL")

    def desk(self) -> AlertDesk:
        return AlertDesk(self.settings)

    def tick(self, rules: dict[str, Any] | None = None) -> None:
        """Digests due, and the lateness of every scheduled rule."""
        desk = self.desk()
        desk.flush()
        if rules is None:
            from crawler.spider import project_rules

            rules = dict(project_rules(self.settings).rules)
        pauses = Pauses(self.schedule_dir)
        grace = self.settings.getfloat("ALERT_SCHEDULE_GRACE")
        now = datetime.now(UTC)
        store = self.stores.get()
        for name, rule in sorted(rules.items()):
            schedules = [s for s in rule.schedules if s.enabled]
            if not schedules or pauses.is_paused(name):
                continue
            last = next(iter(store.runs(rule=name, limit=1)), None)
            checks = late_checks(schedules[0], last, now, grace)
            title = f"[crawler] {name}: a scheduled run is late"
            event = {"event": "schedule_late", "rule": name, "cron": schedules[0].cron}
            desk.report(rule_subject(rule), checks, title, event)


def state_of(request: Request) -> AlertsState:
    return request.app.state.alerts


def _config(request: Request) -> AlertConfig:
    try:
        return AlertConfig(request.app.state.settings)
    except ChannelError as exc:
        raise HTTPException(500, f"the alert configuration is broken: {exc}") from None


@router.get("/api/alerts", dependencies=[Depends(read_access)])
def alerts(request: Request) -> dict[str, Any]:
    config = _config(request)
    settings = request.app.state.settings
    desk = AlertDesk(settings, config=config)
    channels = []
    for name, channel in sorted(config.channels.items()):
        problem = config.problem(name)
        source = "admin" if name in config.file_channels else (
            "builtin" if name == channel.type and name in config.types else "settings"
        )  # fmt: skip
        channels.append({**channel.public(), "source": source, "ready": problem is None,
                         "problem": problem})  # fmt: skip
    routes = [
        {**route.public(), "source": "settings" if i < config.fixed_routes else "admin"}
        for i, route in enumerate(config.routes)
    ]
    return {
        "channels": channels,
        "routes": routes,
        "types": sorted(config.types),
        "default": settings.getlist("MONITORS_ALERTS"),
        "dedup_window": settings.getfloat("ALERT_DEDUP_WINDOW"),
        "quiet_hours": settings.get("ALERT_QUIET_HOURS") or "",
        "timezone": settings.get("ALERT_TIMEZONE") or "",
        "failing": desk.failing()[:500],
        "held": desk.held(),
    }


class ChannelRequest(BaseModel):
    type: str = Field(max_length=40)
    url_env: str = Field("", max_length=128)
    secret_env: str = Field("", max_length=128)
    to: list[str] = Field(default_factory=list, max_length=50)
    quiet_hours: str | None = Field(None, max_length=11)


class RoutesRequest(BaseModel):
    routes: list[dict[str, Any]] = Field(max_length=500)


class TestRequest(BaseModel):
    channel: str = Field(max_length=64)


def _save(request: Request, config: AlertConfig, channels: dict, routes: list) -> None:
    write_file(config.file, channels, routes)
    try:
        AlertConfig(request.app.state.settings)
    except ChannelError as exc:  # cannot happen after the checks above; never keep a broken file
        write_file(config.file, config.file_channels, config.file_routes)
        raise HTTPException(422, str(exc)) from None


@router.put("/api/alerts/channels/{name}")
def put_channel(request: Request, name: str, body: ChannelRequest, who: Admin) -> dict[str, Any]:
    with state_of(request).lock:
        config = _config(request)
        if name in config.fixed:
            raise HTTPException(409, f"channel {name!r} is the settings': change it there")
        spec = {k: v for k, v in body.model_dump().items()  # quiet_hours "": never quiet
                if v not in ("", [], None) or (k == "quiet_hours" and v == "")}  # fmt: skip
        try:
            channel = parse_channel(name, spec, config.types)
        except ChannelError as exc:
            raise HTTPException(422, str(exc)) from None
        _save(request, config, {**config.file_channels, name: spec}, config.file_routes)
    logger.info("alert channel %s set by %s", name, who.get("id"))
    return {"channel": channel.public(), "problem": _config(request).problem(name)}


@router.delete("/api/alerts/channels/{name}")
def delete_channel(request: Request, name: str, who: Admin) -> dict[str, Any]:
    with state_of(request).lock:
        config = _config(request)
        if name not in config.file_channels:
            raise HTTPException(404, f"no channel {name!r} added in the dashboard")
        used = [i + 1 for i, r in enumerate(config.routes) if name in r.to]
        if used:
            raise HTTPException(409, f"channel {name!r} is used by route(s) {used}")
        channels = {k: v for k, v in config.file_channels.items() if k != name}
        _save(request, config, channels, config.file_routes)
    logger.info("alert channel %s removed by %s", name, who.get("id"))
    return {"removed": name}


@router.put("/api/alerts/routes")
def put_routes(request: Request, body: RoutesRequest, who: Admin) -> dict[str, Any]:
    with state_of(request).lock:
        config = _config(request)
        try:
            routes = [
                parse_route(config.fixed_routes + i, spec, config.channels)
                for i, spec in enumerate(body.routes)
            ]
        except ChannelError as exc:
            raise HTTPException(422, str(exc)) from None
        _save(request, config, config.file_channels, [r.public() for r in routes])
    logger.info("alert routes set by %s (%d)", who.get("id"), len(routes))
    return {"routes": [r.public() for r in routes]}


@router.post("/api/alerts/test")
def test_channel(request: Request, body: TestRequest, who: Admin) -> dict[str, Any]:
    config = _config(request)
    if body.channel not in config.channels:
        raise HTTPException(404, f"no alert channel named {body.channel!r}")
    desk = AlertDesk(request.app.state.settings, config=config)
    outcome = desk.send([body.channel], {"event": "test"}, "[crawler] test alert",
                        [f"sent from the dashboard by {who.get('name') or who.get('id')}"])  # fmt: skip
    return {"sent": outcome.sent, "failed": outcome.failed, "held": outcome.held}


@router.get("/api/freshness", dependencies=[Depends(read_access)])
def freshness(request: Request, tag: str | None = Query(None, max_length=40)) -> dict[str, Any]:
    rules, _, _ = project_state(request)
    store = request.app.state.stores.get()
    now = datetime.now(UTC)
    rows = []
    for name, rule in sorted(rules.items())[:MAX_BOARD]:
        if tag and tag not in rule.tags:
            continue
        monitors = rule.section("monitors")
        declared = monitors.rules() if monitors is not None else {}
        checks = {k: declared[k] for k in FRESHNESS_CHECKS if k in declared}
        collections = sorted({rule.target(p).collection or name for p in rule.pages}) or [name]
        figures = measure_freshness(store, collections, name, checks, now)
        results = judge_freshness(checks, figures, now)
        age = staleness(figures, now)
        last = next(iter(store.runs(rule=name, limit=1)), None)
        rows.append({
            "rule": name,
            "tags": list(rule.tags),
            "checks": checks,
            "results": results,
            "status": "failing" if any(not r["ok"] for r in results) else (
                "ok" if results else "unchecked"
            ),
            "last_new_at": figures.get("last_new_at"),
            "stale_seconds": age,
            "new_items": figures.get("new_items"),
            "newest": figures.get("newest"),
            "field": figures.get("field"),
            "last_run": {k: last.get(k) for k in ("run_id", "status", "started_at", "finished_at",
                                                  "items")} if last else None,
        })  # fmt: skip
    order = {"failing": 0, "ok": 1, "unchecked": 2}
    rows.sort(key=lambda r: (order[r["status"]], -(r["stale_seconds"] if r["stale_seconds"]
                                                   is not None else float("inf")), r["rule"]))  # fmt: skip
    return {"items": rows, "now": now.isoformat()}
