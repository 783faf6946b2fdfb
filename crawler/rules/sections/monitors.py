"""``monitors:``: checks of each crawl's outcome, run by Spidermon at the end of the crawl (and
every ``every`` during it): a failed monitor fails the run (status ``monitor_failed``, exit 7)
and sends the alerts configured in the project's settings (``MONITORS_ALERTS``).

    monitors:
      min_items: 50              # items scraped, at least
      max_error_rate: 0.05       # errors per page fetched, at most (crawler/runs/figures.py)
      max_ban_rate: 0.2          # bans per request, at most
      min_coverage: {title: 1.0, price: 0.9}   # share of items with the field filled, in
                                 # every page type whose items have the field
      # min_coverage: {post: {title: 0.9}}     # ... in the page type (or item type) named
      finish_reasons: [finished] # how the crawl may end
      max_item_drop: 0.5         # items may fall by half against the last successful run
      every: 10m                 # also check rates and coverage while the crawl runs
      min_new_items: {count: 1, within: 3d}        # freshness: items first seen lately
      max_newest_age: {field: published, age: 7d}  # the newest item's date, at most 7 days old
      stall: {after: 20m, stop: true}  # no page, item or error for 20 minutes: alert (and stop)

Freshness judges the store, not the run (crawler/monitors/freshness.py): a source whose list
keeps serving the same items passes every other check. A stalled crawl is alerted while it
runs (crawler/monitors/stall.py); with ``stop: true`` it is stopped with status ``stalled``.

Maps to the settings ``MONITORS_RULES`` (the checks), ``MONITORS_INTERVAL`` (seconds, 0: at
the end only), ``MONITORS_STALL_AFTER``/``MONITORS_STALL_STOP`` and Spidermon's
``SPIDERMON_EXPECTED_FINISH_REASONS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.model import Rule
from crawler.rules.problems import did_you_mean
from crawler.rules.sections import Section

SHARE = {"type": "number", "minimum": 0, "maximum": 1}
FIELD = "^[A-Za-z_][A-Za-z0-9_]*$"

MONITORS = {
    "type": "object",
    "description": "Checks of each crawl's outcome (Spidermon); a failed one fails the run "
    "(exit 7) and sends the alerts configured in the project's settings.",
    "properties": {
        "min_items": {"type": "integer", "minimum": 0, "description": "Items scraped, at least."},
        "max_error_rate": {
            **SHARE,
            "description": "Errors (failed requests, spider exceptions, other ERROR log "
            "lines) per page fetched, at most.",
        },
        "max_ban_rate": {**SHARE, "description": "Bans per request sent, at most."},
        "min_coverage": {
            "type": "object",
            "description": "Per field, the share of items (0..1) that must have it filled, "
            "judged in every page type whose items have the field; or, under the name of a "
            "page type (or item type) of the rule, its fields' shares there.",
            "propertyNames": {"pattern": FIELD},
            # No oneOf: a value of either form is checked by the keywords of its type alone.
            "additionalProperties": {
                "type": ["number", "object"],
                "minimum": 0,
                "maximum": 1,
                "minProperties": 1,
                "propertyNames": {"pattern": FIELD},
                "additionalProperties": SHARE,
            },
        },
        "finish_reasons": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "description": "How the crawl may end (Scrapy's finish reasons; default: finished).",
        },
        "max_item_drop": {
            **SHARE,
            "description": "How far the item count may fall against the last successful run "
            "of the rule (0.5: by half).",
        },
        "every": {
            "$ref": "#/$defs/duration",
            "description": "Also run the rate and coverage checks this often during the crawl.",
        },
        "min_new_items": {
            "type": "object",
            "description": "Freshness: at least `count` items first seen within `within` "
            "(a source that stopped publishing fails it while every run finishes).",
            "properties": {
                "count": {"type": "integer", "minimum": 1, "maximum": 1000},
                "within": {"$ref": "#/$defs/duration"},
            },
            "required": ["count", "within"],
            "additionalProperties": False,
        },
        "max_newest_age": {
            "type": "object",
            "description": "Freshness: the newest item's date in `field` is at most `age` old.",
            "properties": {
                "field": {"type": "string", "pattern": FIELD},
                "age": {"$ref": "#/$defs/duration"},
            },
            "required": ["field", "age"],
            "additionalProperties": False,
        },
        "stall": {
            "type": "object",
            "description": "No page, item or error for `after`: alert while the crawl runs; "
            "with `stop: true` the crawl stops with status stalled (exit 9).",
            "properties": {
                "after": {"$ref": "#/$defs/duration"},
                "stop": {"type": "boolean", "default": False},
            },
            "required": ["after"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

MIN_INTERVAL = 10.0  # seconds
MIN_STALL = 5.0  # seconds


@dataclass(frozen=True)
class Monitors:
    """The checks of the ``monitors:`` section (None: not asked for)."""

    min_items: int | None = None
    max_error_rate: float | None = None
    max_ban_rate: float | None = None
    min_coverage: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    finish_reasons: tuple[str, ...] = ()
    max_item_drop: float | None = None
    every: float | None = None  # seconds
    min_new_items: MappingProxyType | None = None  # {count, within (seconds)}
    max_newest_age: MappingProxyType | None = None  # {field, age (seconds)}
    stall_after: float | None = None  # seconds
    stall_stop: bool = False

    def rules(self) -> dict[str, Any]:
        """The checks as plain values (the ``MONITORS_RULES`` setting)."""
        out: dict[str, Any] = {}
        for name in ("min_new_items", "max_newest_age"):
            value = getattr(self, name)
            if value is not None:
                out[name] = dict(value)
        for name in ("min_items", "max_error_rate", "max_ban_rate", "max_item_drop"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.min_coverage:
            out["min_coverage"] = {
                k: dict(v) if isinstance(v, dict) else v for k, v in self.min_coverage.items()
            }
        if self.finish_reasons:
            out["finish_reasons"] = list(self.finish_reasons)
        return out


def build(ctx: BuildContext) -> Monitors | None:
    spec = ctx.data.get("monitors")
    if not isinstance(spec, dict) or ctx.broken(("monitors",)):
        return None
    path = ("monitors",)
    every = ctx.duration(spec, "every", path)
    if every is not None and every < MIN_INTERVAL:
        ctx.error(path + ("every",), f"checks run at most every {MIN_INTERVAL:g} seconds")
    fresh = spec.get("min_new_items")
    if isinstance(fresh, dict):
        within = ctx.duration(fresh, "within", path + ("min_new_items",))
        fresh = MappingProxyType({"count": fresh["count"], "within": within})
    newest = spec.get("max_newest_age")
    if isinstance(newest, dict):
        age = ctx.duration(newest, "age", path + ("max_newest_age",))
        newest = MappingProxyType({"field": newest["field"], "age": age})
    stall = spec.get("stall") if isinstance(spec.get("stall"), dict) else {}
    stall_after = ctx.duration(stall, "after", path + ("stall",)) if stall else None
    if stall_after is not None and stall_after < MIN_STALL:
        ctx.error(path + ("stall", "after"), f"a stall is at least {MIN_STALL:g} seconds")
    monitors = Monitors(
        min_new_items=fresh,
        max_newest_age=newest,
        stall_after=stall_after,
        stall_stop=bool(stall.get("stop", False)),
        min_items=spec.get("min_items"),
        max_error_rate=spec.get("max_error_rate"),
        max_ban_rate=spec.get("max_ban_rate"),
        min_coverage=MappingProxyType(dict(spec.get("min_coverage", {}))),
        finish_reasons=tuple(spec.get("finish_reasons", ())),
        max_item_drop=spec.get("max_item_drop"),
        every=every,
    )
    if not monitors.rules() and monitors.stall_after is None:
        ctx.warning(path, "no check is declared: this section does nothing")
    return monitors


def finish(rule: Rule, ctx: BuildContext) -> None:
    """A ``min_coverage`` entry under a name judges that page type or item type: the rule must
    have it."""
    monitors = rule.sections.get("monitors")
    if not isinstance(monitors, Monitors):
        return
    pages = list(rule.pages)
    item_types = {rule.target(page).type for page in pages} - {None, ""}
    for scope, value in monitors.min_coverage.items():
        if isinstance(value, dict) and scope not in pages and scope not in item_types:
            known = [*pages, *sorted(item_types)]
            ctx.error(
                ("monitors", "min_coverage", scope),
                f"no page type or item type named {scope!r} in this rule"
                f"{did_you_mean(scope, known)}",
            )


def to_settings(monitors: Monitors | None) -> dict[str, Any]:
    if monitors is None:
        return {}
    out: dict[str, Any] = {}
    if monitors.stall_after is not None:
        out["MONITORS_STALL_AFTER"] = monitors.stall_after
        out["MONITORS_STALL_STOP"] = monitors.stall_stop
    if not monitors.rules():
        return out
    out["MONITORS_RULES"] = monitors.rules()
    out["MONITORS_INTERVAL"] = monitors.every or 0.0
    if monitors.finish_reasons:
        out["SPIDERMON_EXPECTED_FINISH_REASONS"] = list(monitors.finish_reasons)
    return out


SECTION = Section(
    name="monitors",
    order=70,
    properties={"monitors": {"$ref": "#/$defs/monitors"}},
    defs={"monitors": MONITORS},
    build=build,
    settings=to_settings,
    finish=finish,
)
