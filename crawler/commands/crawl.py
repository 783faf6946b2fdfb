"""``scrapy crawl``, with the platform's exit status (the table is crawler/core/exitcodes.py).

Scrapy's own command exits 0 whatever happened to the crawl. This one exits with the status
:func:`crawler.core.runstatus.run_status` gives the crawl's final stats, the one its run record
holds (``run/exit_code``, set by the run recorder); a rule with problems exits 3 with them
listed.

Every setting given on the command line (``-s``, ``-L``, ``--logfile``, ``-o``) is checked
before anything starts, by :func:`check_command_line_settings`: against the settings catalog
(type, allowed values), and the paths a run writes (``JOBDIR``, ``LOG_FILE``, local feed
outputs) for whether they can be created. Each problem is one line; the exit status is 2. The
other long-running commands taking ``-s`` call the same function from ``process_options``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.core.exitcodes import EXIT_CODES
from crawler.core.runstatus import run_status
from crawler.defaults import CHOICES_FROM, command_line_problems
from crawler.spider.rule_spider import RuleRefused
from crawler.spider.site_group import SiteGroupSpider, group_by_settings
from vocab import mask_url

logger = logging.getLogger(__name__)


class Command(ScrapyCrawlCommand):
    def long_desc(self) -> str:
        return (
            "Run a rule's crawl (or a hand-written spider). Exit status: 0 finished, 1 failed, "
            "2 usage error, 3 rule error, 4 start error, 5 blocked, 6 data not stored, "
            "7 monitor failed, 8 interrupted, 9 stalled (see README)."
        )

    def syntax(self) -> str:
        return "[options] <rule> | --tag TAG [--tag TAG ...] | --table TABLE"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--tag",
            action="append",
            default=[],
            metavar="TAG",
            help="crawl every rule with this tag (repeat for any of several), as one crawl",
        )
        parser.add_argument(
            "--table",
            default="",
            metavar="TABLE",
            help="crawl every row of the site table rules/tables/TABLE.*, as one crawl",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if opts.tag or opts.table:
            if args or (opts.tag and opts.table):
                raise UsageError("give a rule, --tag or --table: one of them", print_help=False)
            self.exitcode = self.crawl_group(opts.tag, opts.table, opts.spargs)
            return
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

    def crawl_group(self, tags: list[str], table: str, spargs: dict[str, Any]) -> int:
        """Every rule with one of ``tags`` (or every row of ``table``) in this one process, as
        one crawl of many sites (crawler/spider/site_group.py: each site keeps its politeness,
        stats, monitors and run record; one that fails stops no other); rules whose settings
        differ are crawls of their own beside it. The exit status is the first site's that is
        not 0, after each site's is printed."""
        loader = self.crawler_process.spider_loader
        names = loader.in_table(table) if table else loader.tagged(tags)
        if not names and table:
            known = ", ".join(loader.all_tables()) or "none"
            raise UsageError(f"no site table {table!r} (tables: {known})", print_help=False)
        if not names:
            known = ", ".join(loader.all_tags()) or "none"
            raise UsageError(
                f"no rule has the tag {' or '.join(map(repr, tags))} (tags: {known})",
                print_help=False,
            )
        codes: dict[str, int] = {}
        classes = []
        for name in names:
            try:
                classes.append(loader.load(name))
            except RuleRefused as exc:
                print(f"error: {exc}", file=sys.stderr)
                codes[name] = EXIT_CODES["rule_error"]
        label = f"table:{table}" if table else "tag:" + "+".join(tags)
        groups = group_by_settings(classes)
        crawls: list[tuple[list[str], Any, list[BaseException]]] = []
        for number, group in enumerate(groups, 1):
            name = label if len(groups) == 1 else f"{label}#{number}"
            spidercls = group[0] if len(group) == 1 else SiteGroupSpider.for_sites(name, group)
            try:
                crawler = self._create_crawler(spidercls)
            except RuleRefused as exc:
                print(f"error: {exc}", file=sys.stderr)
                codes.update({c.name: EXIT_CODES["rule_error"] for c in group})
                continue
            failures: list[BaseException] = []
            _on_failure(self.crawler_process.crawl(crawler, **spargs), failures)
            crawls.append(([c.name for c in group], crawler, failures))
        if crawls:
            self.crawler_process.start()
        for sites, crawler, failures in crawls:
            code = exit_code(crawler, failures)
            statuses = getattr(crawler.spider, "site_status", None) or {}
            for site in sites:
                status = statuses.get(site)
                codes[site] = status.exit_code if status is not None and not failures else code
        for name in names:
            print(f"{name}: exit {codes[name]}", file=sys.stderr)
        return next((codes[n] for n in names if codes[n]), 0)


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


# Settings naming a directory or a file a run creates (feed outputs are read from FEEDS).
WRITTEN_DIRECTORIES = ("JOBDIR",)
WRITTEN_FILES = ("LOG_FILE",)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def check_command_line_settings(settings: BaseSettings) -> None:
    """Refuse, with one line per problem (a UsageError: exit 2), the settings given on the
    command line that the catalog does not know, whose values do not fit, or that name a path
    the run cannot create. Call it from a command's ``process_options``, after Scrapy's."""
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    given = {
        name: attr.value.copy_to_dict() if isinstance(attr.value, BaseSettings) else attr.value
        for name, attr in sorted(settings.attributes.items())
        if attr.priority >= cmdline
    }
    registered = {name: _names_in(settings, reg) for name, reg in CHOICES_FROM.items()}
    found = command_line_problems(given, _project_setting_names(), registered)
    problems = [f"-s {p}" for p in found]
    if not problems:  # paths only once every value is right: nothing is created for nothing
        problems = _path_problems(given)
    if problems:
        raise UsageError("\n".join(mask_url(p) for p in problems), print_help=False)


def _names_in(settings: BaseSettings, registry: str) -> list[str]:
    try:
        return [str(name) for name in settings.getdict(registry)]
    except ValueError:  # not JSON: reported as the registry setting's own problem
        return []


def _project_setting_names() -> set[str]:
    """The settings the project's own settings module declares (known besides the catalog)."""
    try:
        module = importlib.import_module(os.environ.get("SCRAPY_SETTINGS_MODULE") or "")
    except (ImportError, ValueError):
        return set()
    return {name for name in dir(module) if name.isupper()}


def _path_problems(given: dict[str, Any]) -> list[str]:
    problems = []
    for name in WRITTEN_DIRECTORIES:
        if given.get(name):
            problems += _cannot_write(f"-s {name}={given[name]}", Path(str(given[name])), True)
    for name in WRITTEN_FILES:
        if given.get(name):
            problems += _cannot_write(f"-s {name}={given[name]}", Path(str(given[name])), False)
    feeds = given.get("FEEDS")
    for uri in feeds if isinstance(feeds, dict) else ():
        path = str(uri).removeprefix("file://")
        if (_SCHEME.match(path) and path == uri) or "%(" in path:
            continue  # another storage (s3:, stdout:), or a directory named per crawl
        problems += _cannot_write(f"output {uri}", Path(path).parent, True)
    return problems


def _cannot_write(option: str, path: Path, directory: bool) -> list[str]:
    """Create ``path`` (a directory with its parents; a file in an existing directory) as the
    run would, and write in it: ``[problem]`` if that fails, else ``[]``."""
    try:
        if directory:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        else:
            with path.open("a", encoding="utf-8"):
                pass
    except OSError as exc:
        what = f"the directory {path}" if directory else "the file"
        return [f"{option}: cannot create or write {what} ({exc.strerror or exc})"]
    return []


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
