"""Schedules API: each scheduled rule's next run, paused or not, and its last status; pause
and resume (a flag the scheduler daemon honours, :mod:`crawler.schedule.pauses`); a cron
expression checked, with its next five times (the dashboard's cron editor); a rule's schedule
set (a new version of the rule, with its author)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from crawler.rules.yamlpos import load_yaml
from crawler.schedule import Pauses
from crawler.service.access import Editor, read_access
from crawler.service.gate import GatedRoute
from crawler.service.rulefiles import RuleFileError, check_name
from crawler.service.rules_api import (
    RuleText,
    last_run,
    project_state,
    save,
    schedule_json,
)

router = APIRouter(prefix="/api/schedules", tags=["schedules"], route_class=GatedRoute)


@router.get("", dependencies=[Depends(read_access)])
def list_schedules(request: Request) -> dict[str, Any]:
    rules, _, _ = project_state(request)
    pauses = Pauses(request.app.state.config.schedule_dir)
    items = []
    for name in sorted(rules):
        schedule = schedule_json(rules[name], pauses)
        if schedule is None:
            continue
        last = last_run(request, name)
        items.append({"rule": name, **schedule, "last_status": last["status"] if last else None})
    return {"items": items}


def _scheduled_rule(request: Request, rule: str) -> str:
    try:
        check_name(rule)
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    rules, _, _ = project_state(request)
    if rule not in rules or rules[rule].schedule is None:
        raise HTTPException(404, f"no scheduled rule named {rule!r}")
    return rule


@router.post("/{rule}/pause")
def pause(request: Request, rule: str, who: Editor) -> dict:
    Pauses(request.app.state.config.schedule_dir).pause(_scheduled_rule(request, rule))
    return {"rule": rule, "paused": True}


@router.post("/{rule}/resume")
def resume(request: Request, rule: str, who: Editor) -> dict:
    Pauses(request.app.state.config.schedule_dir).resume(_scheduled_rule(request, rule))
    return {"rule": rule, "paused": False}


def next_times(cron: str, timezone: str, count: int = 5) -> list[str]:
    """The next ``count`` times ``cron`` fires, read in ``timezone`` (ISO 8601, with offset);
    ValueError says what is wrong with either."""
    from croniter import croniter

    if len(cron) > 200 or not croniter.is_valid(cron):
        raise ValueError(
            f"invalid cron expression {cron!r}: five fields (minute hour day month weekday), "
            "or @hourly, @daily, @weekly, @monthly"
        )
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (an IANA name: Asia/Shanghai)") from None
    it = croniter(cron, datetime.now(UTC).astimezone(zone))
    return [it.get_next(datetime).isoformat() for _ in range(count)]


@router.get("/next", dependencies=[Depends(read_access)])
def preview_cron(
    cron: str = Query(..., max_length=200), timezone: str = Query("UTC", max_length=64)
) -> dict[str, Any]:
    try:
        return {"valid": True, "next": next_times(cron, timezone)}
    except ValueError as exc:
        return {"valid": False, "error": str(exc), "next": []}


class ScheduleRequest(BaseModel):
    cron: str | None = Field(default=None, max_length=200)  # None: the rule has no schedule
    timezone: str = Field(default="UTC", max_length=64)


def with_schedule(text: str, schedule: dict[str, Any] | None) -> str:
    """``text`` with its top-level ``schedule:`` block replaced (or added, or removed); every
    other line, comments included, is kept as it was."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"schedule\s*:", line)), None)
    block = ""
    if schedule is not None:
        block = yaml.safe_dump({"schedule": schedule}, sort_keys=False, allow_unicode=True)
    if start is None:
        return text + ("" if not text or text.endswith("\n") else "\n") + block
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # blank lines stay with what follows
        end -= 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


@router.put("/{rule}")
def set_schedule(request: Request, rule: str, body: ScheduleRequest, who: Editor) -> Any:
    """Set (or remove, with ``cron: null``) a rule file's schedule: checked, saved as a new
    version of the rule. A site-table row's schedule is a cell of its table."""
    try:
        check_name(rule)
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    rules, _, _ = project_state(request)
    found = rules.get(rule)
    if found is None or found.path is None:
        raise HTTPException(404, f"no rule named {rule!r}")
    if found.row:
        raise HTTPException(422, f"{rule} is a row of {found.path.name}: set its schedule there")
    if len(found.schedules) > 1:
        raise HTTPException(
            422, f"{rule} has {len(found.schedules)} schedules: edit them in the rule"
        )
    schedule = None
    if body.cron is not None:
        try:
            next_times(body.cron, body.timezone, 1)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        data, _ = load_yaml(found.path.read_text(encoding="utf-8"), str(found.path))
        data = data if isinstance(data, dict) else {}
        old = data.get("schedule") if isinstance(data.get("schedule"), dict) else {}
        schedule = {**old, "cron": body.cron, "timezone": body.timezone}
    text = with_schedule(found.path.read_text(encoding="utf-8"), schedule)
    message = f"schedule: {body.cron} ({body.timezone})" if body.cron else "schedule removed"
    return save(request, rule, RuleText(yaml=text, name=rule, message=message), who)
