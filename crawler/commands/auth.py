"""``scrapy auth <subcommand>``: credentials of the platform, for people, machines and sources.

* ``scrapy auth people [list|add ID --role ROLE|remove ID]``: who may sign in to the data
  service and with which role (the roles file, ``SIGNIN_ROLES_FILE``); ``list`` also shows the
  people who signed in, so an admin finds the id to add;
* ``scrapy auth tokens create NAME [--role ROLE] | list | revoke ID_OR_NAME``: API tokens of the
  data service, for machines (hashed at rest; a new token is printed once). ``scrapy tokens``
  is an alias;
* ``scrapy auth authorize PROVIDER [--credential NAME] [--port N] [--redirect-uri URL]``: the
  one-time authorization of a source's credential (crawler/oauth/authorize.py): prints the URL a
  person opens, waits for the provider's redirect on 127.0.0.1, stores the refresh token;
* ``scrapy auth source-tokens [--json]``: the stored credentials of sources, never their tokens
  (a hash instead).

Each subcommand is a :class:`Subcommand` in :data:`SUBCOMMANDS` with its own options (its own
argparse parser: ``scrapy auth authorize --help``); adding one is adding a class. Exit status:
0 done, 2 a bad command line (or a roles or token file that cannot be used), 4 a provider not
configured (or its secret not set), 5 the authorization failed (a refused or reused code, a
wrong state, no answer).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.commands.serviceauth import ApiTokens, People, Subcommand
from crawler.core.exitcodes import EXIT_CODES
from crawler.oauth.errors import OAuthFailure, ProviderError
from crawler.oauth.token_stores import LockTimeout
from crawler.service.api_tokens import TokenError
from crawler.service.signin.roles import RolesError


class Authorize(Subcommand):
    name = "authorize"
    help = "authorize a source's credential once (a person opens the printed URL)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("provider", help="a provider of OAUTH_PROVIDERS")
        parser.add_argument("--credential", default="default", help="name to store it under")
        parser.add_argument("--port", type=int, default=0, help="listener port (0: any free one)")
        parser.add_argument(
            "--redirect-uri",
            help="the callback URL the provider knows, when it is not the listener itself",
        )
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")

    def run(self, args: argparse.Namespace, settings: BaseSettings) -> int:
        # Here, not at the top: Scrapy imports every command, and the token clients (Authlib)
        # are for this one only.
        from crawler.oauth import configured
        from crawler.oauth.authorize import authorize

        provider = configured.provider(settings, args.provider)
        if provider.grant != "refresh_token":
            raise ProviderError(
                f"provider {provider.name!r} uses the {provider.grant} grant: crawls fetch its "
                "tokens themselves, there is nothing to authorize"
            )
        store = configured.token_store(settings)
        keeper = configured.keeper(settings, provider, args.credential, store)

        def show(url: str) -> None:
            print(f"Open this URL in a browser and approve:\n{url}", flush=True)

        token = authorize(
            keeper.client,
            store,
            credential=args.credential,
            port=args.port,
            redirect_uri=args.redirect_uri,
            timeout=args.timeout,
            show=show,
        )
        refresh = "with a refresh token" if token.refresh_token else "WITHOUT a refresh token"
        print(
            f"Stored credential {args.credential!r} of provider {provider.name!r} ({token.label}, "
            f"{refresh}) in {store.display_uri}",
            flush=True,
        )
        return 0


class SourceTokens(Subcommand):
    name = "source-tokens"
    help = "list stored credentials of sources (a hash of each token, never the token)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def run(self, args: argparse.Namespace, settings: BaseSettings) -> int:
        from crawler.oauth import configured

        store = configured.token_store(settings)
        rows = [credential_row(key, token) for key, token in store.items()]
        store.close()
        if args.json:
            for row in rows:
                print(json.dumps(row))
        elif not rows:
            print(f"no stored credentials in {store.display_uri}")
        else:
            for row in rows:
                print("  ".join(f"{k}={v}" for k, v in row.items()))
        return 0


def credential_row(key: str, token: Any, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    provider, _, credential = key.partition("/")
    if token.expires_at is None:
        expires = "unknown"
    elif token.expires_at <= now:
        expires = "expired"
    else:
        expires = f"in {int(token.expires_at - now)}s"
    person = token.unionid or token.openid
    return {
        "provider": provider,
        "credential": credential,
        "token": token.label,
        "expires": expires,
        "refresh_token": bool(token.refresh_token),
        "person": f"{person[:4]}…" if person else "",
    }


SUBCOMMANDS: dict[str, Subcommand] = {
    cls.name: cls() for cls in (People, ApiTokens, Authorize, SourceTokens)
}


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return f"<{'|'.join(SUBCOMMANDS)}> [options]"

    def short_desc(self) -> str:
        return "Credentials: people and roles, API tokens, OAuth sources' authorization"

    def long_desc(self) -> str:
        lines = [f"{name}: {sub.help}" for name, sub in SUBCOMMANDS.items()]
        return "; ".join(lines) + ". `scrapy auth SUBCOMMAND --help` for its options."

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if not args or args[0] not in SUBCOMMANDS:
            raise UsageError(f"name a subcommand: {', '.join(SUBCOMMANDS)}")
        sub = SUBCOMMANDS[args[0]]
        parser = argparse.ArgumentParser(prog=f"scrapy auth {sub.name}", description=sub.help)
        sub.add_arguments(parser)
        parsed = parser.parse_args(args[1:])  # exits 2 with its usage on a bad command line
        try:
            self.exitcode = sub.run(parsed, self.settings)
        except (RolesError, TokenError) as exc:
            self._fail(str(exc), "usage_error")
        except ProviderError as exc:
            self._fail(str(exc), "start_error")
        except (OAuthFailure, LockTimeout) as exc:
            self._fail(str(exc), "blocked")

    def _fail(self, message: str, status: str) -> None:
        print(f"error: {message}", file=sys.stderr, flush=True)
        self.exitcode = EXIT_CODES[status]
