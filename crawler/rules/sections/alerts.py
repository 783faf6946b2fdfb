"""``alerts:``: where the alerts of this rule go, and how often one is repeated.

    alerts:
      to: [ops, gov-team]   # channels (the project's: ALERT_CHANNELS, the dashboard's alert
                            # page); added to the routes matching the rule's name, tags or table
      dedup: 6h             # a check that keeps failing is alerted once per 6 hours

Channels name their URLs and secrets as environment variables in the project's settings; a
rule only names channels. Without ``to`` and without a matching route, alerts go to the
default channels (``MONITORS_ALERTS``). Read by the alert desk (crawler/monitors/desk.py);
no settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.rules.compile_context import BuildContext
from crawler.rules.sections import Section

CHANNEL = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MIN_DEDUP = 60.0  # seconds

ALERTS = {
    "type": "object",
    "description": "Where this rule's alerts go (channels of the project) and how often a "
    "check that keeps failing is alerted again.",
    "properties": {
        "to": {
            "type": "array",
            "items": {"type": "string", "pattern": CHANNEL},
            "uniqueItems": True,
            "minItems": 1,
            "maxItems": 20,
            "description": "Alert channels (ALERT_CHANNELS or the dashboard's alert page).",
        },
        "dedup": {
            "$ref": "#/$defs/duration",
            "description": "A failing check is alerted once per this window (default: "
            "ALERT_DEDUP_WINDOW, an hour).",
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Alerts:
    to: tuple[str, ...] = ()
    dedup: float | None = None  # seconds


def build(ctx: BuildContext) -> Alerts | None:
    spec = ctx.data.get("alerts")
    if not isinstance(spec, dict) or ctx.broken(("alerts",)):
        return None
    dedup = ctx.duration(spec, "dedup", ("alerts",))
    if dedup is not None and dedup < MIN_DEDUP:
        ctx.error(("alerts", "dedup"), f"alerts repeat at most every {MIN_DEDUP:g} seconds")
    return Alerts(to=tuple(spec.get("to", ())), dedup=dedup)


SECTION = Section(
    name="alerts",
    order=72,
    properties={"alerts": {"$ref": "#/$defs/alerts"}},
    defs={"alerts": ALERTS},
    build=build,
)
