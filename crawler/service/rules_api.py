"""Rules API: the rules with their validity, schedule and last run; one rule's text; validate
and preview posted YAML with the project's compiler and ``scrapy preview``; save (a new version
in the rule's history, with its author and message); the history, a diff of two versions,
restore one; run now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crawler.rules import Rule
from crawler.rules.chains import chain_json
from crawler.rules.files import read_text
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
from crawler.service.run_views import summary

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
    return project_state_of(request.app.state.settings)


def project_state_of(settings: Any) -> tuple[dict[str, Rule], list[Any], dict[str, Any]]:
    from crawler.spider import project_rules

    ruleset = project_rules(settings)
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
    rules, ruleset_problems, _ = project_state(request)
    chained = chain_problems_of(path, problems, ruleset_problems)
    return {
        "name": name,
        "yaml": text,
        "problems": [problem_json(p) for p in [*problems, *chained] if p.is_error],
        "warnings": [problem_json(p) for p in problems if not p.is_error],
        "chain": chain_json(name, rules),  # chained runs: after:, predecessors, successors
    }


def chain_problems_of(path: Path, own: list[Any], everyone: list[Any]) -> list[Any]:
    """The problems of rule file ``path`` that only the whole rules directory shows (``after:``
    naming what does not exist, chains that loop: crawler/rules/chains.py)."""
    said = {(p.line, p.column, p.message) for p in own}
    here = path.resolve()
    return [
        p
        for p in everyone
        if p.path.startswith("after")
        and (p.line, p.column, p.message) not in said
        and Path(p.file).resolve() == here
    ]


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
    args = runnable(request, name, body.args if body else {})
    try:  # on the least loaded node when nodes are configured (crawler/service/nodes_api.py)
        run = request.app.state.launcher.start(name, args, request.app.state.fleet.dispatcher())
    except RuleBusy as exc:
        raise HTTPException(409, str(exc)) from None
    except OSError as exc:  # no node could take it
        raise HTTPException(502, str(exc)) from None
    return {"run_id": run.run_id}


def runnable(request: Request, name: str, given: dict[str, Scalar]) -> dict[str, str]:
    """The arguments of a run of rule ``name``, checked (422/404 otherwise)."""
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
    return _run_args(rule, given, request.app.state.config.run_args_max)
