"""``scrapy tokens create NAME [--role editor] | list | revoke ID_OR_NAME``: an alias of
``scrapy auth tokens`` (the data service's API tokens; crawler/commands/serviceauth.py)."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.serviceauth import ApiTokens
from crawler.core.exitcodes import EXIT_CODES
from crawler.service.api_tokens import TokenError
from crawler.service.signin.roles import ROLES


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "create NAME [--role ROLE] | list | revoke ID_OR_NAME"

    def short_desc(self) -> str:
        return "Alias of `scrapy auth tokens`: API tokens of the data service"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--role", default="editor", choices=ROLES, help="default: editor")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("say create, list or revoke", print_help=True)
        sub = ApiTokens()
        parser = argparse.ArgumentParser(prog="scrapy tokens")
        sub.add_arguments(parser)
        extra = ["--role", opts.role] if args[0] == "create" else []
        parsed = parser.parse_args([*args, *extra])
        try:
            self.exitcode = sub.run(parsed, self.settings)
        except TokenError as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = EXIT_CODES["usage_error"]
