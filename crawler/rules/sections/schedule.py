"""``schedule:``: when ``scrapy schedule`` runs the rule, with retries, a timeout and catch-up."""

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
    },
    "required": ["cron"],
    "additionalProperties": False,
}


def build(ctx: BuildContext) -> Schedule | None:
    spec = ctx.data.get("schedule")
    if not isinstance(spec, dict) or ctx.broken(("schedule",)):
        return None
    from croniter import croniter

    path = ("schedule",)
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
    for name in args:
        if name not in ctx.arg_names:
            hint = did_you_mean(name, ctx.arg_names)
            ctx.error(path + ("args", name), f"argument {name!r} is not declared under args{hint}")
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
    )


SECTION = Section(
    name="schedule",
    order=60,
    properties={"schedule": {"$ref": "#/$defs/schedule"}},
    defs={"schedule": SCHEDULE},
    build=build,
)
