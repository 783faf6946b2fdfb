"""``scrapy proxies <fetch|check|list|stats|serve|judge>``: a thin wrapper over proxies.cli."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.proxysources import crawl_rule_items
from proxies.cli import ACTIONS, CliError
from proxies.cli import run as run_action
from proxies.sources import register_rule_runner


class Command(ScrapyCommand):
    requires_project = False
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "<fetch|check|list|stats|serve|judge> [options] [proxy ...]"

    def short_desc(self) -> str:
        return "Proxy pool: fetch sources, check, list, stats, serve the API, run a judge"

    def long_desc(self) -> str:
        return (
            "fetch: pull proxies from the configured sources (PROXY_POOL_SOURCES[_FILE], paid file/env) "
            "into the pool. check: validate the given proxies, or the pool's due ones (--all: every one). "
            "list: usable proxies best first. stats: counts, per-source health. serve: the HTTP API "
            "(jhao104/proxy_pool paths) with scheduled fetches and re-checks. judge: the service the "
            "validator checks anonymity against."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        g = parser.add_argument_group("proxies")
        g.add_argument(
            "--source", action="append", metavar="NAME", help="fetch: only this source (repeatable)"
        )
        g.add_argument(
            "--url", action="append", metavar="URL", help="fetch: a text/JSON list URL (repeatable)"
        )
        g.add_argument("--check", action="store_true", help="fetch: check what was fetched")
        g.add_argument(
            "--all", action="store_true", help="check/list: every proxy, not only due/usable ones"
        )
        g.add_argument("--limit", type=int, metavar="N", help="check/list: at most N proxies")
        g.add_argument("--timeout", type=float, metavar="SECONDS", help="check: per-check timeout")
        g.add_argument("--concurrency", type=int, metavar="N", help="check: checks at once")
        g.add_argument(
            "--no-progress",
            dest="progress",
            action="store_const",
            const=False,
            default=None,
            help="no progress bar",
        )
        g.add_argument(
            "--progress",
            dest="progress",
            action="store_const",
            const=True,
            help="progress bar even when not a terminal",
        )
        g.add_argument("-v", "--verbose", action="store_true", help="check: one line per proxy")
        g.add_argument("--domain", metavar="DOMAIN", help="list: rank for this domain")
        g.add_argument("--https", action="store_true", help="list: only proxies that tunnel HTTPS")
        g.add_argument(
            "--anonymity", metavar="LEVEL", help="list: minimum transparent|anonymous|elite"
        )
        g.add_argument(
            "--paid",
            dest="paid",
            action="store_const",
            const=True,
            default=None,
            help="list: paid only",
        )
        g.add_argument(
            "--free", dest="paid", action="store_const", const=False, help="list: free only"
        )
        g.add_argument(
            "--json", dest="json_output", action="store_true", help="list/stats: JSON output"
        )
        g.add_argument(
            "--drop-dead-sources",
            action="store_true",
            help="stats: drop proxies of sources with nothing alive",
        )
        g.add_argument(
            "--host", metavar="HOST", help="serve/judge: address to listen on (default 127.0.0.1)"
        )
        g.add_argument(
            "--port", type=int, metavar="PORT", help="serve/judge: port (default 5010 / 8899)"
        )
        g.add_argument("--no-check", action="store_true", help="serve: no re-checks")
        g.add_argument("--no-fetch", action="store_true", help="serve: no source fetches")
        g.add_argument("--tls-port", type=int, metavar="PORT", help="judge: also serve HTTPS here")
        g.add_argument(
            "--cert", metavar="FILE", help="judge: TLS certificate (default: self-signed)"
        )
        g.add_argument("--key", metavar="FILE", help="judge: TLS key")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"name an action: {', '.join(ACTIONS)}")
        action, rest = args[0], args[1:]
        options = {k: v for k, v in vars(opts).items() if k not in _GLOBAL_OPTIONS}
        # rule sources (free-proxy sites described by rules) are crawled by the crawler
        register_rule_runner(partial(crawl_rule_items, rules_dir=self.settings.get("RULES_DIR")))
        try:
            self.exitcode = run_action(action, rest, options, self.settings)
        except CliError as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = 2


_GLOBAL_OPTIONS = {"logfile", "loglevel", "nolog", "profile", "pidfile", "set", "pdb"}
