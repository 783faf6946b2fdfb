"""Monitors and alerts: a rule's ``monitors:`` checks run by Spidermon at the end of a crawl
(and periodically during it), freshness judged on the store, stalls watched while it runs;
their results in the stats (``monitors/failed``, ``monitors/results``), and every alert of the
platform through the alert desk: channels, routes, deduplication, quiet hours with digests,
"resolved" messages. See docs/monitoring.md.
"""

from crawler.monitors.channels import (
    AlertConfig,
    ChannelError,
    Subject,
    parse_channel,
    parse_route,
    rule_subject,
    write_file,
)
from crawler.monitors.desk import AlertDesk, Outcome
from crawler.monitors.freshness import CHECKS as FRESHNESS_CHECKS
from crawler.monitors.freshness import judge as judge_freshness
from crawler.monitors.freshness import measure as measure_freshness
from crawler.monitors.freshness import staleness
from crawler.monitors.stall import desk_for

__all__ = [
    "FRESHNESS_CHECKS",
    "AlertConfig",
    "AlertDesk",
    "ChannelError",
    "Outcome",
    "Subject",
    "desk_for",
    "judge_freshness",
    "measure_freshness",
    "parse_channel",
    "parse_route",
    "rule_subject",
    "staleness",
    "write_file",
]
