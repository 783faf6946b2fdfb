"""Components that are off by configuration say so once, at INFO, not as a warning; components
that cannot start refuse the crawl in one line (:func:`refuse_start`).

Scrapy logs a ``NotConfigured`` that carries a message as a WARNING ("Disabled ..."), which made
every healthy crawl print a few. A component that is simply not asked for raises the exception
this returns: the reason goes to the INFO log, and Scrapy stays quiet.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


def off(component: str, why: str) -> NotConfigured:
    """``raise off("CookieSessionMiddleware", "no sessions configured")``."""
    logger.info("%s is off: %s", component, why)
    return NotConfigured()


def describe(exc: BaseException, limit: int = 200) -> str:
    """An exception in one short line: its class and the first sentence a user needs (drivers
    such as pymongo append pages of topology details).

    >>> describe(ConnectionError("h:1: [Errno 111] Connection refused (configured timeouts: x)"))
    'ConnectionError: h:1: [Errno 111] Connection refused'
    """
    text = str(exc).splitlines()[0] if str(exc) else ""
    for cut in (" (configured timeouts", ", Timeout:", ", Topology Description"):
        text = text.split(cut, 1)[0]
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def refuse_start(crawler: Any, message: str, reason: str = "start_error") -> None:
    """A component that cannot work as configured (a missing variable, a server away): say so
    in one line, and let the crawl open and close at once with status ``start_error`` (exit 4)
    and its run recorded, instead of a traceback from the component's constructor."""
    from scrapy import signals
    from scrapy.exceptions import CloseSpider

    logger.error("%s", message)
    if crawler.stats is not None and not crawler.stats.get_value("crawl/start_error"):
        crawler.stats.set_value("crawl/start_error", message)

    def refuse(spider: Any) -> None:
        raise CloseSpider(reason)

    crawler.signals.connect(refuse, signal=signals.spider_opened, weak=False)
