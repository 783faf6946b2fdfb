"""``scrapy config show|check``: the deployment's configuration (docs/configuration.md).

* ``scrapy config show [NAME...] [--all] [--rule RULE] [--json]``: the effective settings, each
  with its source (``default``, ``project``, the deployment file's ``path:line:column``,
  ``environment CRAWLER_NAME``, ``-s``, ``rule RULE``), secrets hidden and credentials in URLs
  masked. Without names: the platform's settings and the Scrapy ones set anywhere but their
  defaults; ``--all``: every setting.
* ``scrapy config check``: the deployment file and the ``CRAWLER_`` environment variables (and
  any ``-s``) checked against the settings catalog without running anything: exit 0, or one
  line per problem and exit 2.

The file and the environment are read and checked when the project's settings are (the end of
``crawler/settings.py``): a problem stops every command, this one included, before it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.crawl import check_command_line_settings
from crawler.config import applied_deployment, load_deployment, warn_once
from crawler.config.effective import rows, text_lines
from crawler.core.exitcodes import EXIT_CODES

ACTIONS = ("show", "check")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "show [NAME...] [--all] [--rule RULE] [--json] | check"

    def short_desc(self) -> str:
        return "Show the effective settings and their sources, or check the deployment's config"

    def long_desc(self) -> str:
        return (
            "show: the effective settings with the source of each (default, project, the "
            "deployment file's path:line, environment CRAWLER_NAME, -s, rule RULE), secrets "
            "hidden; NAME... picks settings, --all shows every one, --rule RULE applies that "
            "rule's settings:, --json prints JSON. check: the deployment file ($CRAWLER_CONFIG "
            "or <state dir>/crawler.yaml) and CRAWLER_ environment variables checked against "
            "the settings catalog; exit 0, or 2 with one line per problem."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--all", action="store_true", help="show: every setting")
        parser.add_argument("--rule", metavar="RULE", help="show: with this rule's settings:")
        parser.add_argument("--json", action="store_true", help="show: print JSON")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)  # -s values: checked as every command does

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"give an action: {', '.join(ACTIONS)}", print_help=False)
        if args[0] == "check":
            if args[1:] or opts.all or opts.rule or opts.json:
                raise UsageError("use: scrapy config check", print_help=False)
            self._check()
        else:
            self._show(args[1:], opts)

    def _check(self) -> None:
        deployment = load_deployment(self._project())
        warn_once(deployment.warnings)
        if deployment.problems:
            for problem in deployment.problems:
                print(problem, file=sys.stderr)
            self.exitcode = EXIT_CODES["usage_error"]
            return
        where = str(deployment.path) if deployment.path else "no deployment file"
        print(
            f"ok: {where} ({deployment.from_file} settings), environment "
            f"({deployment.from_environment} settings)"
        )

    def _show(self, names: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        settings = self.settings.copy()
        unknown = [n for n in names if n not in settings.attributes]
        if unknown:
            raise UsageError(f"no such setting: {', '.join(unknown)}", print_help=False)
        rule = None
        if opts.rule:
            from scrapy.spiderloader import get_spider_loader

            try:
                spidercls = get_spider_loader(settings).load(opts.rule)
            except KeyError:
                raise UsageError(f"no rule named {opts.rule!r}", print_help=False) from None
            own = getattr(spidercls, "custom_settings", None) or {}
            spidercls.update_settings(settings)
            rule = (opts.rule, list(own))
        found = rows(
            settings,
            applied_deployment(self._project()),
            rule=rule,
            names=names,
            every=opts.all,
            project=f"project ({os.environ.get('SCRAPY_SETTINGS_MODULE') or 'settings'})",
        )
        if opts.json:
            print(json.dumps([r.as_json() for r in found], ensure_ascii=False, default=str))
        else:
            print("\n".join(text_lines(found)))

    @staticmethod
    def _project() -> dict:
        """The project's settings module, as the deployment was applied over it."""
        import importlib

        module = importlib.import_module(os.environ.get("SCRAPY_SETTINGS_MODULE") or "")
        return {name: getattr(module, name) for name in dir(module) if name.isupper()}
