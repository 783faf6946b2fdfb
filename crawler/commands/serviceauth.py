"""The data service's subcommands of ``scrapy auth`` (crawler/commands/auth.py): ``people``
(who may sign in, with which role: the roles file; and who signed in) and ``tokens`` (API tokens
for machines). :class:`Subcommand` is the shape every ``scrapy auth`` subcommand has."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from scrapy.settings import BaseSettings

from crawler.service.api_tokens import TokenFile
from crawler.service.signin.roles import ROLES, RolesFile, people_listing
from crawler.service.signin.signin_sessions import SessionStore


class Subcommand:
    name: ClassVar[str]
    help: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        return None

    def run(self, args: argparse.Namespace, settings: BaseSettings) -> int:
        raise NotImplementedError


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch)) if epoch else "-"


class People(Subcommand):
    name = "people"
    help = "who may sign in to the data service, with which role; who signed in"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="list|add|remove")
        listing = actions.add_parser("list", help="the roles file, then who signed in (default)")
        listing.add_argument("--json", action="store_true", help="one JSON object per line")
        add = actions.add_parser("add", help="give an identity a role (e.g. the first admin)")
        add.add_argument(
            "id",
            help="wechat:<unionid|openid>, sub:<provider>:<subject>, email:<address> or "
            "group:<provider>:<group> (`scrapy auth people` shows who signed in)",
        )
        add.add_argument("--role", required=True, choices=ROLES)
        add.add_argument("--name", help="a name to recognise the entry by")
        remove = actions.add_parser("remove", help="take an identity's entry out")
        remove.add_argument("id")

    def run(self, args: argparse.Namespace, settings: BaseSettings) -> int:
        roles = RolesFile(settings.get("SIGNIN_ROLES_FILE"))
        if args.action == "add":
            new = roles.set(args.id, args.role, args.name)
            verb = "added" if new else "changed"
            print(
                f"{verb}: {args.id} is {args.role} (in {roles.path}; the service reads it at once)"
            )
            return 0
        if args.action == "remove":
            if not roles.remove(args.id):
                print(f"error: no entry {args.id!r} in {roles.path}", file=sys.stderr)
                return 2
            print(f"removed: {args.id} (from {roles.path})")
            return 0
        return self.list(roles, settings, getattr(args, "json", False))

    def list(self, roles_file: RolesFile, settings: BaseSettings, as_json: bool) -> int:
        roles = roles_file.check()
        sessions = Path(settings.get("SIGNIN_SESSIONS_FILE")).expanduser()
        seen: list[dict[str, Any]] = []
        if sessions.exists():
            store = SessionStore(sessions)
            seen = store.people()
            store.close()
        rows = people_listing(roles.entries, seen, roles.role_for)
        if as_json:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False))
            return 0
        if not rows:
            print(f"nobody yet: add the first admin with `scrapy auth people add ID --role admin` "
                  f"(roles file {roles_file.path})")  # fmt: skip
            return 0
        for row in rows:
            where = (
                "roles file" if "last_seen" not in row else f"signed in {_when(row['last_seen'])}"
            )
            print(f"{row['id']}  {row['role'] or 'no role':<7}  {where}  {row.get('name', '')}")
        return 0


class ApiTokens(Subcommand):
    name = "tokens"
    help = "API tokens of the data service (for machines): create, list, revoke"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="create|list|revoke")
        create = actions.add_parser("create", help="a new token, printed once, stored hashed")
        create.add_argument("token_name", metavar="NAME")
        create.add_argument("--role", default="editor", choices=ROLES, help="default: editor")
        actions.add_parser("list", help="the tokens (never the tokens themselves)")
        revoke = actions.add_parser("revoke", help="revoke a token by id or name")
        revoke.add_argument("id_or_name", metavar="ID_OR_NAME")

    def run(self, args: argparse.Namespace, settings: BaseSettings) -> int:
        tokens = TokenFile(Path(settings.get("SERVICE_TOKENS_FILE")).expanduser())
        if args.action == "create":
            token, entry = tokens.create(args.token_name, role=args.role)
            print(token)
            print(
                f"token {entry.id} ({entry.name}, {entry.role}) created: this is the only time it "
                f"is shown; it is stored hashed in {tokens.path}",
                file=sys.stderr,
            )
        elif args.action == "list":
            for entry in tokens.entries():
                print(f"{entry.id}  {entry.role:<7} {entry.created_at}  {entry.name}")
        elif args.action == "revoke":
            if not tokens.revoke(args.id_or_name):
                print(f"error: no token with id or name {args.id_or_name!r}", file=sys.stderr)
                return 2
            print(f"revoked {args.id_or_name}")
        else:
            print(
                "error: say create, list or revoke (the stored credentials of crawl sources are "
                "`scrapy auth source-tokens`)",
                file=sys.stderr,
            )
            return 2
        return 0
