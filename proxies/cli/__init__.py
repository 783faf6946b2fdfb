"""What ``python -m proxies <fetch|check|list|stats|serve|judge>`` does (``scrapy proxies`` is
an alias that passes the crawler's settings and rule runner).

Every action takes the settings (a Scrapy ``Settings``, a mapping, or a
:class:`~proxies.settings.PoolSettings`), keyword options and, for ``fetch`` and ``serve``, an
optional rule runner; it prints to stdout and returns the exit status. Operating and user errors
(judge or Redis unreachable, store unwritable, bad option) raise :class:`CliError` with one
line saying what failed and what to do; the entry points print it without a traceback and exit
with status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from proxies.cli.errors import CliError
from proxies.cli.options import action_options, add_options
from proxies.settings import PoolSettings, default_names

__all__ = ["ACTIONS", "CliError", "main", "run"]

ACTIONS = ("fetch", "check", "list", "stats", "serve", "judge")


def _handlers() -> dict[str, Callable[..., int]]:
    from proxies.cli import checking, listing, serving

    return {
        "fetch": checking.fetch,
        "check": checking.check,
        "list": listing.list_,
        "stats": listing.stats,
        "serve": serving.serve,
        "judge": serving.judge,
    }


def run(
    action: str,
    args: list[str],
    opts: dict[str, Any],
    settings: Any,
    out: TextIO | None = None,
    rule_runner: Any = None,
) -> int:
    """Run one action; errors of operation come out as :class:`CliError`."""
    from proxies.parsing import SourceError
    from proxies.pool_store import StoreError
    from proxies.proxy_keys import SecretError
    from proxies.validator import JudgeUnavailable

    handlers = _handlers()
    if action not in handlers:
        raise CliError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    settings = PoolSettings.wrap(settings)
    try:
        return handlers[action](
            settings, args, out=out or sys.stdout, rule_runner=rule_runner, **opts
        )
    except (JudgeUnavailable, StoreError, SecretError, SourceError) as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:  # a setting of the wrong type or shape
        raise CliError(f"bad setting: {exc}") from None


def parse_set_options(values: Sequence[str]) -> dict[str, str]:
    """``-s NAME=VALUE`` pairs; a name that is not a pool setting is an error."""
    known = default_names()
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CliError(f"-s {item!r}: use -s NAME=VALUE")
        if name not in known:
            raise CliError(f"-s {name}: not a proxy pool setting (see proxies/defaults.py)")
        out[name] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m proxies",
        description="The proxy pool: fetch sources, check, list, stats, serve the API, run a "
        "judge. Settings: proxies/defaults.py, overridden by environment variables of the same "
        "name, then by -s NAME=VALUE.",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("args", nargs="*", metavar="proxy", help="check: proxies to check")
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE", help="a setting"
    )
    parser.add_argument(
        "-L", "--loglevel", default="WARNING", help="log level on stderr (default WARNING)"
    )
    add_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The standalone entry point; returns the exit status."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    logging.basicConfig(
        level=str(ns.loglevel).upper(),
        format="%(asctime)s [%(name)s] %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = PoolSettings(None, overrides=parse_set_options(ns.set), env=os.environ)
        opts = action_options(ns)
        action, args = opts.pop("action"), opts.pop("args")
        return run(str(action), list(args), opts, settings)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
