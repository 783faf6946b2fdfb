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


# Scrapy extensions that are off by a setting but still imported by Scrapy to find that out: the
# remote control imports aiohttp's web server (about 10 MiB resident in every crawl process), the
# telnet console Twisted's conch. Off, they are not listed at all (:class:`UnloadedWhenOff`).
OFF_BY_SETTING = {
    "scrapy.extensions.remote_control.RemoteControl": "REMOTE_CONTROL_ENABLED",
    "scrapy.extensions.telnet.TelnetConsole": "TELNETCONSOLE_ENABLED",
}


class UnloadedWhenOff:
    """A Scrapy add-on (``ADDONS`` in crawler/settings.py): each extension of
    :data:`OFF_BY_SETTING` whose switch is off is taken out of ``EXTENSIONS_BASE``, so its module
    is never imported (Scrapy imports every key of ``EXTENSIONS``, ``None`` ones included, to
    merge it with the base); switched on (``-s REMOTE_CONTROL_ENABLED=1``), it loads as
    Scrapy's own."""

    def update_settings(self, settings: Any) -> None:
        base = dict(settings.getdict("EXTENSIONS_BASE"))
        off = [path for path, switch in OFF_BY_SETTING.items() if not settings.getbool(switch)]
        if any(path in base for path in off):
            for path in off:
                base.pop(path, None)
            settings.set("EXTENSIONS_BASE", base, settings.getpriority("EXTENSIONS_BASE") or 0)
