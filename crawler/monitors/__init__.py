"""Monitors and alerts: a rule's ``monitors:`` checks run by Spidermon at the end of a crawl
(and periodically during it), their results in the stats (``monitors/failed``,
``monitors/results``), and alerts (Spidermon actions) sent when one fails. See docs/service.md.
"""

from crawler.monitors.notify import send_event

__all__ = ["send_event"]
