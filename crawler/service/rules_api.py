"""Rules API: the rules with their validity, schedule and last run; one rule's text; validate
and preview posted YAML with the project's compiler and ``scrapy preview``; save (a new version
in the rule's history, with its author and message); the history, a diff of two versions,
restore one; run now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crawler.core.exitcodes import EXIT_CODES
from crawler.rules import Rule
from crawler.rules.files import read_text, rule_files
from crawler.rules.history import HistoryError, RuleHistory
from crawler.rules.request_specs import url_problem
from crawler.schedule import Pauses, next_fire
from crawler.service.access import Editor, read_access
from crawler.service.gate import GatedRoute
from crawler.service.launcher import RuleBusy, iso
from crawler.service.rulefiles import (
    PreviewBusy,
    PreviewError,
    RuleFileError,
    check_name,
    compile_text,
    problem_json,
    rule_path,
    run_preview,
    save_rule,
)
from crawler.service.run_views import status_of, summary

router = APIRouter(prefix="/api/rules", tags=["rules"], route_class=GatedRoute)

Scalar = str | int | float | bool


class RuleText(BaseModel):
    yaml: str = Field(max_length=1_000_000)
    name: str | None = Field(default=None, max_length=100)
    message: str = Field(default="", max_length=500)  # what the save changes, for the history


class RestoreRequest(BaseModel):
    version: int = Field(ge=1)
    message: str = Field(default="", max_length=500)


class PreviewRequest(BaseModel):
    yaml: str = Field(max_length=1_000_000)
    url: str = Field(max_length=8192)
    page: str | None = Field(default=None, max_length=200)
    args: dict[str, Scalar] = Field(default_factory=dict)


class RunRequest(BaseModel):
    args: dict[str, Scalar] = Field(default_factory=dict)


def project_state(request: Request) -> tuple[dict[str, Rule], list[Any], dict[str, Any]]:
    from crawler.spider import project_rules

    ruleset = project_rules(request.app.state.settings)
    return dict(ruleset.rules), list(ruleset.problems), dict(ruleset.item_types)


def schedule_json(rule: Rule, pauses: Pauses) -> dict[str, Any] | None:
    schedule = rule.schedule
    if schedule is None:
        return None
    return {
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "next_run": iso(next_fire(schedule, datetime.now(UTC))) if schedule.enabled else None,
        "paused": pauses.is_paused(rule.name),
        # a rule may have several schedules: the first is shown, the others by their cron
        "others": [
            {"name": s.name, "cron": s.cron, "timezone": s.timezone} for s in rule.schedules[1:]
        ],
    }


def last_run(request: Request, name: str) -> dict[str, Any] | None:
    """The rule's latest run as the runs listing shows it (its figures included)."""
    runs = request.app.state.stores.get().runs(rule=name, limit=1)
    if not runs:
        return None
    launcher = request.app.state.launcher
    live = launcher.is_running(runs[0].get("run_id") or "") or None
    return summary(runs[0], live=live)


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
    for path in rule_files(config.rules_dir):
        if path.stem not in entries and not any(e["file"] == path.name for e in entries.values()):
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


@router.get("/{name}", dependencies=[Depends(read_access)])
def get_rule(request: Request, name: str) -> dict[str, Any]:
    try:
        path = rule_path(request.app.state.config.rules_dir, name)
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    if not path.is_file():
        raise HTTPException(404, f"no rule named {name!r}")
    text = read_text(path)
    _, _, types = project_state(request)
    rule, problems = compile_text(text, request.app.state.settings, None, types)
    return {
        "name": name,
        "yaml": text,
        "problems": [problem_json(p) for p in problems if p.is_error],
        "warnings": [problem_json(p) for p in problems if not p.is_error],
    }


def _compile(request: Request, text: str, name: str | None) -> tuple[Rule | None, list[Any]]:
    try:
        if name is not None:
            check_name(name)
        _, _, types = project_state(request)
        return compile_text(text, request.app.state.settings, name, types)
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/validate")
def validate(request: Request, body: RuleText, who: Editor) -> dict[str, Any]:
    rule, problems = _compile(request, body.yaml, body.name)
    return {"ok": rule is not None, "problems": [problem_json(p) for p in problems]}


@router.post("/preview")
async def preview(request: Request, body: PreviewRequest, who: Editor) -> Any:
    rule, problems = await run_in_threadpool(_compile, request, body.yaml, None)
    if rule is None:
        return JSONResponse(
            {
                "detail": "the rule has problems",
                "problems": [problem_json(p) for p in problems],
            },
            status_code=422,
        )
    bad_url = url_problem(body.url)
    if bad_url:
        raise HTTPException(422, f"cannot preview {body.url!r}: {bad_url}")
    if body.page is not None and body.page not in rule.pages:
        raise HTTPException(
            422, f"no page type {body.page!r}; the rule has: {', '.join(rule.pages)}"
        )
    config = request.app.state.config
    try:
        with request.app.state.previews.take():
            output = await run_in_threadpool(
                lambda: run_preview(
                    rule,
                    body.yaml,
                    body.url,
                    rules_dir=config.rules_dir,
                    page=body.page,
                    args={k: str(v) for k, v in body.args.items()},
                    timeout=config.preview_timeout,
                    max_output=config.preview_max_output,
                    crawl_settings=config.crawl_settings,
                )
            )
    except PreviewBusy as exc:
        raise HTTPException(
            429,
            f"{exc} (SERVICE_PREVIEW_CONCURRENCY): try again when one has finished",
            headers={"Retry-After": "5"},
        ) from None
    except PreviewError as exc:
        raise HTTPException(422, f"preview failed: {exc}") from None
    keys = ("page", "status", "items", "links", "problems", "empty_fields", "url", "encoding")
    return {key: output.get(key) for key in keys}


@router.put("/{name}")
def save(request: Request, name: str, body: RuleText, who: Editor) -> Any:
    rule, problems = _compile(request, body.yaml, name)
    if rule is None:
        return JSONResponse(
            {"detail": "the rule has problems", "problems": [problem_json(p) for p in problems]},
            status_code=422,
        )
    history = rule_history(request)
    path = rule_path(request.app.state.config.rules_dir, name)
    before = None
    if path.is_file() and history.latest(name) is None:  # written by hand: kept as it was
        before, _ = _compile(request, read_text(path), name)
    saved = save_rule(
        request.app.state.config.rules_dir,
        name,
        body.yaml,
        history=history,
        author=str(who.get("name") or "unknown"),
        message=body.message,
        version=rule.version,
        before=before.version if before is not None else "",
    )
    return {"saved": True, "version": saved.json()}


def rule_history(request: Request) -> RuleHistory:
    settings = request.app.state.settings
    return RuleHistory(
        Path(settings.get("RULE_HISTORY_DIR")), keep=settings.getint("RULE_HISTORY_KEEP")
    )


@router.get("/{name}/history", dependencies=[Depends(read_access)])
def history(request: Request, name: str) -> dict[str, Any]:
    try:
        check_name(name)
        entries = rule_history(request).entries(name)
    except (RuleFileError, HistoryError) as exc:
        raise HTTPException(422, str(exc)) from None
    return {"name": name, "versions": [entry.json() for entry in entries]}


@router.get("/{name}/history/{version}", dependencies=[Depends(read_access)])
def history_version(request: Request, name: str, version: int) -> dict[str, Any]:
    try:
        check_name(name)
        store = rule_history(request)
        return {**store.get(name, version).json(), "yaml": store.text(name, version)}
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    except HistoryError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/{name}/diff", dependencies=[Depends(read_access)])
def diff(request: Request, name: str, a: int, b: int | None = None) -> dict[str, Any]:
    """Version ``a`` against version ``b``, or against the file as it is now."""
    try:
        path = rule_path(request.app.state.config.rules_dir, name)
        current = read_text(path) if b is None and path.is_file() else None
        lines = list(rule_history(request).diff(name, a, b, current))
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    except HistoryError as exc:
        raise HTTPException(404, str(exc)) from None
    return {"name": name, "a": a, "b": b, "diff": "".join(lines)}


@router.post("/{name}/restore")
def restore(request: Request, name: str, body: RestoreRequest, who: Editor) -> Any:
    """Save version ``body.version`` again, as a new version (checked first, as every save)."""
    try:
        check_name(name)
        text = rule_history(request).text(name, body.version)
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    except HistoryError as exc:
        raise HTTPException(404, str(exc)) from None
    message = body.message or f"restore version {body.version}"
    return save(request, name, RuleText(yaml=text, name=name, message=message), who)


def _run_args(rule: Rule, args: dict[str, Scalar], maximum: int) -> dict[str, str]:
    if len(args) > maximum:
        raise HTTPException(422, f"at most {maximum} arguments")
    unknown = sorted(set(args) - set(rule.args))
    if unknown:
        declared = ", ".join(rule.args) or "none"
        raise HTTPException(422, f"unknown argument(s) {', '.join(unknown)}; declared: {declared}")
    out = {}
    for key, value in args.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) > 4096 or "\x00" in text:
            raise HTTPException(422, f"argument {key!r} is too long or holds a NUL")
        out[key] = text
    return out


@router.post("/{name}/run")
def run_now(
    request: Request,
    name: str,
    who: Editor,
    body: RunRequest | None = None,
) -> Any:
    try:
        check_name(name)
    except RuleFileError as exc:
        raise HTTPException(422, str(exc)) from None
    rules, problems, _ = project_state(request)
    rule = rules.get(name)
    if rule is None:
        broken = any(Path(p.file).stem == name for p in problems)
        if broken:
            raise HTTPException(422, f"rule {name!r} has problems (GET /api/rules/{name})")
        raise HTTPException(404, f"no rule named {name!r}")
    config = request.app.state.config
    args = _run_args(rule, (body.args if body else {}), config.run_args_max)
    try:
        run = request.app.state.launcher.start(name, args)
    except RuleBusy as exc:
        raise HTTPException(409, str(exc)) from None
    return {"run_id": run.run_id}
