"""``scrapy crawl``, exiting 7 (``monitor_failed``, crawler/exitcodes.py) when a monitor of the
rule failed (stat ``monitors/failed`` above 0); otherwise as Scrapy's own command.

The exit-status contract as a whole (a status for every outcome, decided from the final stats)
belongs to the run-status work: its ``crawl`` command replaces this one, and reads the same stat.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.exitcodes import EXIT_CODES


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one rule: scrapy crawl RULE [-a NAME=VALUE ...]")
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif crawler.stats is not None and (crawler.stats.get_value("monitors/failed") or 0) > 0:
            self.exitcode = EXIT_CODES["monitor_failed"]
