"""``scrapy tokens create NAME [--role editor] | list | revoke ID_OR_NAME``: the data service's
API tokens (hashed in ``SERVICE_TOKENS_FILE``; a new token is printed once)."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.service.tokens import ROLES, TokenError, TokenFile


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "create NAME [--role ROLE] | list | revoke ID_OR_NAME"

    def short_desc(self) -> str:
        return "Create, list and revoke API tokens of the data service"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--role", default="editor", choices=ROLES, help="default: editor")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("say create, list or revoke", print_help=True)
        tokens = TokenFile(self.settings.get("SERVICE_TOKENS_FILE"))
        action, rest = args[0], args[1:]
        try:
            if action == "create" and len(rest) == 1:
                token, entry = tokens.create(rest[0], role=opts.role)
                print(token)
                print(
                    f"token {entry.id} ({entry.name}, {entry.role}) created: this is the only "
                    f"time it is shown; it is stored hashed in {tokens.path}",
                    file=sys.stderr,
                )
            elif action == "list" and not rest:
                for entry in tokens.entries():
                    print(f"{entry.id}  {entry.role:<7} {entry.created_at}  {entry.name}")
            elif action == "revoke" and len(rest) == 1:
                if not tokens.revoke(rest[0]):
                    raise UsageError(f"no token with id or name {rest[0]!r}", print_help=False)
                print(f"revoked {rest[0]}")
            else:
                raise UsageError(f"cannot {' '.join(args)}: see the syntax", print_help=True)
        except TokenError as exc:
            raise UsageError(str(exc), print_help=False) from None
