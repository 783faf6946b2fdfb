"""Alerts that are not a crawl's monitors' (a Scrapyd node that stopped answering, and that it
answers again): sent through the same configured channels (``MONITORS_ALERTS``, each action's
settings and environment variables), outside any crawl.

The generic webhook receives the event as JSON (``{"event": "node_offline", "node": ...,
"title", "lines"}``, signed as monitor alerts are); the group robots and email receive the
title and lines. A channel that fails is logged once per call, never raised: an alert that
cannot be sent must not stop what sends it.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from scrapy.utils.misc import load_object

from crawler.core.switches import describe

logger = logging.getLogger(__name__)


def send_event(settings: Any, event: dict[str, Any], title: str, lines: list[str]) -> list[str]:
    """Send to every configured channel; the channels that took it."""
    actions = settings.getdict("MONITORS_ALERT_ACTIONS")
    sent = []
    for name in settings.getlist("MONITORS_ALERTS"):
        path = actions.get(name)
        if path is None:
            logger.error(
                "alert %r is not one of MONITORS_ALERT_ACTIONS: %s not sent",
                name,
                event.get("event"),
            )
            continue
        cls = load_object(path)
        problem = cls.configuration_problem(settings)
        if problem:
            logger.error(
                "alert %s is not configured (%s): %s not sent", name, problem, event.get("event")
            )
            continue
        try:
            cls(**cls.from_crawler_kwargs(SimpleNamespace(settings=settings))).send_event(
                event, title, lines
            )
        except Exception as exc:
            logger.error("alert %s failed for %s: %s", name, event.get("event"), describe(exc))
        else:
            sent.append(name)
    return sent
