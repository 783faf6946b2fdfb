"""``scrapy crawl``, with the platform's exit status (the table is crawler/core/exitcodes.py).

Scrapy's own command exits 0 whatever happened to the crawl. This one exits with the status
:func:`crawler.core.runstatus.run_status` gives the crawl's final stats, the one its run record
holds (``run/exit_code``, set by the run recorder); a rule with problems exits 3 with them
listed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.core.exitcodes import EXIT_CODES
from crawler.core.runstatus import run_status
from crawler.spider.rule_spider import RuleRefused

logger = logging.getLogger(__name__)


class Command(ScrapyCrawlCommand):
    def long_desc(self) -> str:
        return (
            "Run a rule's crawl (or a hand-written spider). Exit status: 0 finished, 1 failed, "
            "2 usage error, 3 rule error, 4 start error, 5 blocked, 6 data not stored, "
            "7 monitor failed, 8 interrupted (see README)."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError(
                "give exactly one rule: scrapy crawl RULE [-a NAME=VALUE ...]", print_help=False
            )
        try:
            crawler = self._create_crawler(args[0])
        except RuleRefused as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = EXIT_CODES["rule_error"]
            return
        failures: list[BaseException] = []
        _on_failure(self.crawler_process.crawl(crawler, **opts.spargs), failures)
        self.crawler_process.start()
        self.exitcode = exit_code(crawler, failures)


def exit_code(crawler: Any, failures: list[BaseException]) -> int:
    """The crawl's exit status: the run recorder's decision when it made one, else the same
    decision from the final stats."""
    if failures:
        exc = failures[0]
        if isinstance(exc, ValueError | UsageError):
            # Components refuse a bad setting with ValueError: a user's error, in one line.
            logger.error("The crawl cannot start: %s (check the settings given with -s)", exc)
            return EXIT_CODES["usage_error"]
        logger.error(
            "The crawl failed before it could start: %s: %s", type(exc).__name__, exc,
            exc_info=(type(exc), exc, exc.__traceback__),
        )  # fmt: skip
        return EXIT_CODES["failed"]
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    recorded = stats.get("run/exit_code")
    if isinstance(recorded, int):
        return recorded
    if not stats.get("finish_reason"):
        # Started, but never closed: the reactor was stopped under it (a second Ctrl-C).
        return EXIT_CODES["interrupted"] if stats.get("start_time") else EXIT_CODES["failed"]
    return run_status(stats).exit_code


def _on_failure(result: Any, failures: list[BaseException]) -> None:
    """Collect the exception a crawl ended with (a Deferred or an asyncio task), so that it is
    reported once, by :func:`exit_code`, instead of as an unhandled error."""
    if hasattr(result, "addErrback"):
        result.addErrback(lambda failure: failures.append(failure.value))
        return

    def done(task: Any) -> None:
        if not task.cancelled() and task.exception() is not None:
            failures.append(task.exception())

    result.add_done_callback(done)
