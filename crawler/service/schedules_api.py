"""Schedules API: each scheduled rule's next run, paused or not, and its last status; pause
and resume (a flag the scheduler daemon honours, :mod:`crawler.schedule.pauses`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from crawler.schedule import Pauses
from crawler.service.access import Editor, read_access
from crawler.service.gate import GatedRoute
from crawler.service.rulefiles import RuleFileError, check_name
from crawler.service.rules_api import last_run, project_state, schedule_json

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
