"""Components that are off by configuration say so once, at INFO, not as a warning.

Scrapy logs a ``NotConfigured`` that carries a message as a WARNING ("Disabled ..."), which made
every healthy crawl print a few. A component that is simply not asked for raises the exception
this returns: the reason goes to the INFO log, and Scrapy stays quiet.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import NotConfigured

logger = logging.getLogger("crawler.components")


def off(component: str, why: str) -> NotConfigured:
    """``raise off("SessionMiddleware", "no sessions configured")``."""
    logger.info("%s is off: %s", component, why)
    return NotConfigured()
