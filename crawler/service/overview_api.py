"""The overview's rules API: every rule of the project (rule files and site-table rows, valid
or not) searched, filtered by tag, last run status and age and failing monitors, a page at a time
with the latest run of each (one store query for all), and bulk run, pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from crawler.core.exitcodes import EXIT_CODES
from crawler.rules.files import rule_files
from crawler.schedule import Pauses
from crawler.service.access import Editor, read_access
from crawler.service.gate import GatedRoute
from crawler.service.rules_api import RunRequest, run_now, schedule_json
from crawler.service.run_views import status_of, summary

router = APIRouter(prefix="/api/rules", tags=["rules"], route_class=GatedRoute)

# what a rule's last run may say, and "never" (no run), "invalid" (the rule has problems)
STATUS_FILTERS = (
    "never",
    "running",
    "invalid",
    *(s for s in EXIT_CODES if not s.endswith("_error") or s == "start_error"),
)


def rule_entries(request: Request) -> list[dict[str, Any]]:
    """Every rule of the project, valid or not (rule files, then site-table rows), with what
    the overview filters on; runs are not read here."""
    config = request.app.state.config
    from crawler.spider import project_rules

    ruleset = project_rules(request.app.state.settings)
    problems = [p for p in ruleset.problems if p.is_error]
    entries: dict[str, dict[str, Any]] = {}
    for rule in ruleset.rules.values():
        entries[rule.name] = {
            "name": rule.name,
            "file": rule.path.name if rule.path else "",
            "row": rule.row or None,
            "valid": True,
            "problems": 0,
            "description": rule.description,
            "tags": list(rule.tags),
            "rule": rule,
        }
    valid_files = {e["file"] for e in entries.values() if not e["row"]}
    for path in rule_files(config.rules_dir):
        if path.stem not in entries and path.name not in valid_files:
            count = sum(1 for p in problems if p.file == str(path))
            entries[path.stem] = {"name": path.stem, "file": path.name, "row": None,
                                  "valid": False, "problems": count, "description": "",
                                  "tags": [], "rule": None}  # fmt: skip
    for name, found in ruleset.broken.items():
        entries.setdefault(name, {"name": name, "file": Path(found[0].file).name if found else "",
                                  "row": found[0].line if found else None, "valid": False,
                                  "problems": len(found), "description": "",
                                  "tags": list(ruleset.broken_tags.get(name, ())), "rule": None})  # fmt: skip
    return sorted(entries.values(), key=lambda e: e["name"])


@router.get("", dependencies=[Depends(read_access)])
def list_rules(
    request: Request,
    q: str = Query("", max_length=200, description="words in the name, description, tags or file"),
    tag: str = Query("", max_length=40),
    status: str = Query("", description=f"one of: {', '.join(STATUS_FILTERS)}"),
    stale_hours: float | None = Query(None, ge=0, description="last run older than this, or none"),
    failing: bool = Query(False, description="the last run's monitors failed"),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """The rules, searched, filtered and a page at a time: 1,000 rules in one answer of their
    latest runs (one store query), the tags with their counts for the filters."""
    if status and status not in STATUS_FILTERS:
        raise HTTPException(422, f"status must be one of {', '.join(STATUS_FILTERS)}")
    entries = rule_entries(request)
    latest = request.app.state.stores.get().latest_runs(e["name"] for e in entries)
    launcher = request.app.state.launcher
    now = datetime.now(UTC)
    words = q.lower().split()
    tags: dict[str, int] = {}
    chosen = []
    for entry in entries:
        for t in entry["tags"]:
            tags[t] = tags.get(t, 0) + 1
        run = latest.get(entry["name"])
        live = bool(run) and bool(launcher.is_running(run.get("run_id") or "")) or None
        run_status = status_of(run, live) if run else None
        text = " ".join([entry["name"], entry["description"], entry["file"], *entry["tags"]])
        if words and not all(w in text.lower() for w in words):
            continue
        if tag and tag not in entry["tags"]:
            continue
        if status and status != _status_filter(entry, run_status):
            continue
        if failing and run_status != "monitor_failed":
            continue
        if stale_hours is not None and not _stale(run, now, stale_hours):
            continue
        chosen.append((entry, run, live))
    config = request.app.state.config
    pauses = Pauses(config.schedule_dir)
    items = []
    for entry, run, live in chosen[offset : offset + limit]:
        rule = entry["rule"]
        items.append(
            {
                **{k: v for k, v in entry.items() if k != "rule"},
                "schedule": schedule_json(rule, pauses) if rule is not None else None,
                "last_run": summary(run, live=live) if run else None,
            }
        )
    return {
        "items": items,
        "total": len(chosen),
        "all": len(entries),
        "offset": offset,
        "limit": limit,
        "tags": dict(sorted(tags.items())),
    }


def _status_filter(entry: dict[str, Any], run_status: str | None) -> str:
    if not entry["valid"]:
        return "invalid"
    return run_status or "never"


def _stale(run: dict[str, Any] | None, now: datetime, hours: float) -> bool:
    if not run:
        return True
    try:
        started = datetime.fromisoformat(str(run.get("started_at")))
    except ValueError:
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return (now - started).total_seconds() > hours * 3600


class BulkRequest(BaseModel):
    action: str = Field(pattern="^(run|pause|resume)$")
    rules: list[str] = Field(min_length=1, max_length=1000)


@router.post("/bulk")
def bulk(request: Request, body: BulkRequest, who: Editor) -> dict[str, Any]:
    """Run, pause or resume many rules at once; each rule's outcome is its own (one that cannot
    is reported, the others go on)."""
    results = {}
    known = {e["name"]: e for e in rule_entries(request)}
    pauses = Pauses(request.app.state.config.schedule_dir)
    for name in dict.fromkeys(body.rules):
        entry = known.get(name)
        if entry is None:
            results[name] = {"ok": False, "error": f"no rule named {name!r}"}
        elif entry["rule"] is None:
            results[name] = {"ok": False, "error": "the rule has problems"}
        elif body.action == "run":
            try:
                results[name] = {"ok": True, **run_now(request, name, who, RunRequest())}
            except HTTPException as exc:
                results[name] = {"ok": False, "error": str(exc.detail)}
        elif entry["rule"].schedule is None:
            results[name] = {"ok": False, "error": "the rule has no schedule"}
        else:
            if body.action == "pause":
                pauses.pause(name)
            else:
                pauses.resume(name)
            results[name] = {"ok": True, "paused": body.action == "pause"}
    done = sum(1 for r in results.values() if r["ok"])
    return {"action": body.action, "done": done, "failed": len(results) - done, "results": results}
