"""``scrapy crawl``: Scrapy's command, plus the exit status of a crawl that a component stopped
or judged: stat ``oauth/stopped`` (the OAuth middleware) exits 5 (``blocked``), or 4
(``start_error``) for a provider configuration that cannot work; ``monitors/failed`` above 0
exits 7 (``monitor_failed``). The exit-status contract is crawler/exitcodes.py.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl

from crawler.exitcodes import EXIT_CODES


def oauth_status(stats: dict) -> str | None:
    """The exit status an ``oauth/stopped`` stat stands for.

    >>> oauth_status({"oauth/stopped": "invalid_grant"}), oauth_status({})
    ('blocked', None)
    """
    reason = stats.get("oauth/stopped")
    if not reason:
        return None
    return "start_error" if reason == "not_configured" else "blocked"


def final_status(stats: dict) -> str | None:
    if (stats.get("monitors/failed") or 0) > 0:
        return "monitor_failed"
    return oauth_status(stats)


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            return super().run(args, opts)
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        status = final_status(crawler.stats.get_stats() if crawler.stats else {})
        if status is not None:
            self.exitcode = EXIT_CODES[status]
