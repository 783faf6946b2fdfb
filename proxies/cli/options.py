"""The options of every pool action, shared by ``python -m proxies`` and ``scrapy proxies``."""

from __future__ import annotations

import argparse

# options of the scrapy command that are not ours (dropped before an action runs)
GLOBAL_OPTIONS = {"logfile", "loglevel", "nolog", "profile", "pidfile", "set", "pdb"}


def add_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("proxies")
    add = g.add_argument
    add("--source", action="append", metavar="NAME", help="fetch: only this source (repeatable)")
    add("--url", action="append", metavar="URL", help="fetch: a text/JSON list URL (repeatable)")
    add(
        "--rule",
        action="append",
        metavar="RULE",
        help="fetch: a free-proxy site's rule to crawl (scrapy proxies; repeatable)",
    )
    add(
        "-a",
        dest="rule_args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fetch: an argument of the --rule crawls (repeatable)",
    )
    add("--check", action="store_true", help="fetch: check what was fetched")
    add("--all", action="store_true", help="check/list: every proxy, not only due/usable ones")
    add("--limit", type=int, metavar="N", help="check/list: at most N proxies")
    add("--timeout", type=float, metavar="SECONDS", help="check: per-check timeout")
    add("--concurrency", type=int, metavar="N", help="check: checks at once")
    add(
        "--no-progress",
        dest="progress",
        action="store_const",
        const=False,
        default=None,
        help="no progress bar",
    )
    add(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        help="progress bar even when not a terminal",
    )
    add("-v", "--verbose", action="store_true", help="check: one line per proxy")
    add("--domain", metavar="DOMAIN", help="list: rank for this domain")
    add("--https", action="store_true", help="list: only proxies that tunnel HTTPS")
    add("--anonymity", metavar="LEVEL", help="list: minimum transparent|anonymous|elite")
    add("--paid", dest="paid", action="store_const", const=True, default=None, help="paid only")
    add("--free", dest="paid", action="store_const", const=False, help="list: free only")
    add("--json", dest="json_output", action="store_true", help="list/stats: JSON output")
    add(
        "--drop-dead-sources",
        action="store_true",
        help="stats: drop proxies of sources with nothing alive",
    )
    add("--host", metavar="HOST", help="serve/judge: address to listen on (default 127.0.0.1)")
    add("--port", type=int, metavar="PORT", help="serve/judge: port (default 5010 / 8899)")
    add("--no-check", action="store_true", help="serve: no re-checks")
    add("--no-fetch", action="store_true", help="serve: no source fetches")
    add("--tls-port", type=int, metavar="PORT", help="judge: also serve HTTPS here")
    add("--cert", metavar="FILE", help="judge: TLS certificate (default: self-signed)")
    add("--key", metavar="FILE", help="judge: TLS key")


def action_options(namespace: argparse.Namespace) -> dict[str, object]:
    return {k: v for k, v in vars(namespace).items() if k not in GLOBAL_OPTIONS}
