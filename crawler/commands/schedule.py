"""``scrapy schedule``: run crawls on the cron schedules of the rules (see crawler/schedule).

    scrapy schedule                  # the daemon, until SIGTERM/Ctrl-C
    scrapy schedule --list           # each scheduled rule and its next run
    scrapy schedule --run-now RULE   # one crawl now, recorded like a scheduled one
    scrapy schedule --tag gov        # only the rules tagged gov (--tag again for several)

``-s NAME=VALUE`` options given here are passed on to every crawl the daemon starts.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from crawler.commands.crawl import check_command_line_settings
from crawler.core.exitcodes import EXIT_CODES
from crawler.core.redis import is_distributed, redis_params, redis_url
from crawler.spider.project import compile_context, project_rules

if TYPE_CHECKING:  # the daemon (croniter, the job runner) is imported when the command runs
    from crawler.schedule.daemon import DaemonConfig, ScheduleDaemon

# Settings a crawl must not inherit from the daemon's command line.
_NOT_FORWARDED = {"LOG_FILE", "LOG_ENABLED", "RUN_ID", "SCHEDULE_RUN_ID", "DISTRIBUTED_SEED"}


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[--list | --run-now RULE] [--tag TAG ...]"

    def short_desc(self) -> str:
        return "Run crawls on their rules' cron schedules (or list them, or run one now)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--list", action="store_true", help="show each rule's next run")
        parser.add_argument("--run-now", metavar="RULE", help="start one crawl of RULE now")
        parser.add_argument(
            "--tag",
            action="append",
            default=[],
            metavar="TAG",
            help="only the rules with this tag (repeat for any of several)",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)

    def config(self) -> DaemonConfig:
        from crawler.schedule.daemon import DaemonConfig

        s = self.settings
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        forwarded = tuple(
            (name, str(attr.value))
            for name, attr in s.attributes.items()
            if attr.priority >= cmdline
            and name not in _NOT_FORWARDED
            and isinstance(attr.value, str | int | float | bool)
        )
        return DaemonConfig(
            rules_dir=Path(s.get("RULES_DIR")),
            state_dir=Path(s.get("SCHEDULE_DIR")),
            store_uri=s.get("STORE_URI") or "",
            misfire_grace=s.getfloat("SCHEDULE_MISFIRE_GRACE"),
            stop_grace=s.getfloat("SCHEDULE_STOP_GRACE"),
            crawl_settings=forwarded,
            distributed=is_distributed(s),
            redis_url=redis_url(s) if is_distributed(s) else "",
            redis_params=redis_params(s),
            context=compile_context(s),
            tags=frozenset(self.tags),
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        self.tags = list(opts.tag)
        if args:
            raise UsageError("scrapy schedule takes no positional arguments", print_help=True)
        if not (opts.list or opts.run_now):
            from scrapy.utils.log import configure_logging

            # No crawler process sets up logging here; the daemon's log is its output.
            configure_logging(self.settings)
        from crawler.schedule.daemon import ScheduleDaemon

        daemon = ScheduleDaemon(self.config(), **self.dispatch())
        daemon.reload()
        if opts.list:
            self.print_listing(daemon)
        elif opts.run_now:
            self.exitcode = self.run_now(daemon, opts.run_now)
        else:
            self.serve(daemon)

    def dispatch(self) -> dict[str, Any]:
        """With nodes configured (and ``NODES_DISPATCH`` theirs), crawls start on the least
        loaded node, each seen by the daemon as a process (crawler/nodes/jobs.py)."""
        from crawler.nodes import Fleet, NodesError, node_launcher

        if self.settings.get("NODES_DISPATCH") == "local":
            return {}
        fleet = Fleet(self.settings)
        try:
            nodes = fleet.nodes()
        except NodesError as exc:  # a wrong entry: one line, as any configuration error
            raise UsageError(str(exc), print_help=False) from None
        if not nodes:
            return {}
        uri = self.settings.get("STORE_URI") or ""
        opened: list[Any] = []

        def store() -> Any:  # the daemon's thread reads the crawls' exit codes through it
            if not opened:
                from crawler.store import open_store

                opened.append(open_store(uri, self.settings))
                opened[0].open()
            return opened[0]

        logging.getLogger(__name__).info(
            "crawls start on the nodes: %s", ", ".join(n.name for n in nodes)
        )
        return {"launcher": node_launcher(fleet, store if uri else None)}

    def print_listing(self, daemon: ScheduleDaemon) -> None:
        rows = daemon.listing()
        if not rows:
            tagged = (
                f" tagged {' or '.join(sorted(daemon.config.tags))}" if daemon.config.tags else ""
            )
            print(f"no rule{tagged} in {daemon.config.rules_dir} has a schedule")
            return
        print(f"{'rule':<24} {'cron':<16} {'next run (rule time zone)':<34} {'next run (UTC)':<21}")
        for row in rows:
            local = row["next_run"].astimezone(ZoneInfo(row["timezone"]))
            print(
                f"{row['rule']:<24} {row['cron']:<16} "
                f"{local.strftime('%Y-%m-%d %H:%M %Z'):<34} "
                f"{row['next_run'].strftime('%Y-%m-%d %H:%M'):<21}"
            )

    def run_now(self, daemon: ScheduleDaemon, rule: str) -> int:
        names = self.spider_names()
        if rule not in names:
            raise UsageError(f"no rule named {rule!r}", print_help=False)
        run = daemon.start(rule, trigger="manual")
        if run is None:
            raise UsageError(f"{rule} is already being crawled", print_help=False)
        print(f"crawling {rule} (pid {run.proc.pid}), log {run.log_file}", flush=True)
        record = daemon.wait_for(rule)
        status = record["exit_status"] if record else 1
        if record:
            print(
                f"{rule}: exit status {status} ({record.get('status', '?')}), "
                f"{record.get('finish_reason', '?')}, {record.get('pages', 0)} page(s), "
                f"{record.get('items', 0)} item(s)"
            )
        return status if status >= 0 else EXIT_CODES["interrupted"]

    def spider_names(self) -> set[str]:
        return set(project_rules(self.settings).rules)

    def serve(self, daemon: ScheduleDaemon) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        logging.getLogger(__name__).info(
            "scheduler started: %d scheduled rule(s) in %s",
            len(daemon.jobs),
            daemon.config.rules_dir,
        )
        daemon.serve(stop, tick=self.settings.getfloat("SCHEDULE_TICK"))
