"""``scrapy proxies <fetch|check|list|stats|serve|judge>``: an alias of ``python -m proxies``.

It adds the crawler's settings (which hold proxies/defaults.py through crawler/settings.py) and
the crawler's rule runner, so rule sources (free-proxy sites described by rules) are crawled. As
with ``python -m proxies``, a pool setting may come from an environment variable of its name: it
wins over the project's settings, and ``-s`` wins over it.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from proxies.cli import ACTIONS, CliError
from proxies.cli import run as run_action
from proxies.cli.options import action_options, add_options
from proxies.settings import default_names


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
            "The same as `python -m proxies`, with the crawler's settings, and rule sources "
            "crawled by the crawler. See docs/proxies.md."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_options(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        for name in default_names():
            if name in os.environ and self.settings.getpriority(name) < cmdline:
                self.settings.set(name, os.environ[name], priority="project")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"name an action: {', '.join(ACTIONS)}")
        from crawler.antiban.proxy_sources import (
            crawl_rule_items,  # aiohttp and the sources: on use
        )

        runner = partial(
            crawl_rule_items,
            rules_dir=self.settings.get("RULES_DIR"),
            timeout=self.settings.getfloat("PROXY_POOL_RULE_TIMEOUT"),
        )
        try:
            self.exitcode = run_action(
                args[0], args[1:], action_options(opts), self.settings, rule_runner=runner
            )
        except CliError as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = 2
