"""``schedule:``: when ``scrapy schedule`` runs the rule, with retries, a timeout and catch-up;
or a list of such schedules, each with its own arguments (a daily full crawl and an hourly one
of the first pages), named by ``name:`` or by their place in the list."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from crawler.rules.compile_context import BuildContext
from crawler.rules.model import Schedule
from crawler.rules.problems import did_you_mean
from crawler.rules.sections import Section

SCALAR_VALUE = {"type": ["string", "number", "boolean"]}

SCHEDULE = {
    "type": "object",
    "description": "Run this rule on a schedule (`scrapy schedule`).",
    "properties": {
        "cron": {
            "type": "string",
            "description": "When to run: a five-field cron expression (minute hour day month weekday), "
            "or @hourly, @daily, @weekly, @monthly.",
        },
        "timezone": {
            "type": "string",
            "default": "UTC",
            "description": "IANA time zone the cron expression is read in (Europe/Paris).",
        },
        "catch_up": {
            "type": "boolean",
            "default": False,
            "description": "Runs missed while the scheduler was down: true runs one at once, "
            "false skips to the next due time.",
        },
        "retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
            "default": 0,
            "description": "Run again this many times when a run fails.",
        },
        "retry_delay": {
            "$ref": "#/$defs/duration",
            "description": "Wait before a retry (default 1m).",
        },
        "timeout": {
            "$ref": "#/$defs/duration",
            "description": "Stop a run that takes longer than this (default: no limit).",
        },
        "args": {
            "type": "object",
            "description": "Rule arguments of the scheduled runs (as -a name=value).",
            "additionalProperties": SCALAR_VALUE,
        },
        "enabled": {"type": "boolean", "default": True},
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$",
            "description": "Names one schedule of several (default: its place, 1, 2...).",
        },
    },
    "required": ["cron"],
    "additionalProperties": False,
}


def build(ctx: BuildContext) -> tuple[Schedule, ...]:
    spec = ctx.data.get("schedule")
    if ctx.broken(("schedule",)):
        return ()
    if isinstance(spec, dict):
        one = _schedule(ctx, spec, ("schedule",), "")
        return (one,) if one is not None else ()
    if not isinstance(spec, list):
        return ()
    schedules = []
    for i, entry in enumerate(spec):
        path = ("schedule", i)
        if not isinstance(entry, dict) or ctx.broken(path):
            continue
        found = _schedule(ctx, entry, path, entry.get("name") or str(i + 1))
        if found is not None:
            schedules.append(found)
    names = [s.name for s in schedules]
    for i, name in enumerate(names):
        if name in names[:i]:
            ctx.error(("schedule", i, "name"), f"two schedules are named {name!r}")
    return tuple(schedules)


def _schedule(ctx: BuildContext, spec: dict[str, Any], path: tuple, name: str) -> Schedule | None:
    from croniter import croniter

    cron = spec["cron"]
    if not croniter.is_valid(cron):
        ctx.error(
            path + ("cron",),
            f"invalid cron expression {cron!r}: five fields (minute hour day month weekday) "
            "or @hourly/@daily/@weekly/@monthly",
        )
    timezone = spec.get("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(timezone, available_timezones())
        ctx.error(path + ("timezone",), f"unknown time zone {timezone!r}{hint}")
    args: dict[str, Any] = dict(spec.get("args", {}))
    for arg in args:
        if arg not in ctx.arg_names:
            hint = did_you_mean(arg, ctx.arg_names)
            ctx.error(path + ("args", arg), f"argument {arg!r} is not declared under args{hint}")
    retry_delay = ctx.duration(spec, "retry_delay", path)
    return Schedule(
        cron=cron,
        timezone=timezone,
        catch_up=spec.get("catch_up", False),
        retries=spec.get("retries", 0),
        retry_delay=60.0 if retry_delay is None else retry_delay,
        timeout=ctx.duration(spec, "timeout", path),
        args=MappingProxyType(args),
        enabled=spec.get("enabled", True),
        name=name,
    )


SECTION = Section(
    name="schedule",
    order=60,
    properties={
        "schedule": {
            "oneOf": [
                {"$ref": "#/$defs/schedule"},
                {
                    "type": "array",
                    "items": {"$ref": "#/$defs/schedule"},
                    "minItems": 1,
                    "maxItems": 20,
                },
            ]
        }
    },
    defs={"schedule": SCHEDULE},
    build=build,
)
