"""``scrapy accounts list [POOL] [--json] | reinstate [POOL/]NAME | add POOL NAME --username U
--password-env VAR [--daily-quota N] [--min-interval S] [--max-processes N] | check | keygen``:
the deployment's account pools (crawler/accounts; docs/antiban.md, "Account pools").

``list`` shows each account's state as every process sees it (free, leased by which host and
pid, cooling down until, retired and why; requests today against the quota; bans), never a
credential. ``reinstate`` returns a retired account to service (its bans and failed logins
forgotten). ``add`` appends an account to ``ACCOUNTS_FILE``, its password by the name of the
variable that holds it (never the password itself). ``check`` loads the accounts and the
cookie key and says what is wrong, in one line. ``keygen`` prints a new cookie key for
``CRAWLER_ACCOUNTS_KEY`` (or the file of ``ACCOUNTS_COOKIE_KEY_FILE``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.core.exitcodes import EXIT_CODES

ACTIONS = ("list", "reinstate", "add", "check", "keygen")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "list [POOL] [--json] | reinstate [POOL/]NAME | add POOL NAME ... | check | keygen"

    def short_desc(self) -> str:
        return "Account pools: list accounts and their state, reinstate, add, check, keygen"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="list: JSON lines")
        parser.add_argument("--username", help="add: the account's username")
        parser.add_argument("--password-env", help="add: the variable holding its password")
        parser.add_argument("--daily-quota", type=int, help="add: requests per local day")
        parser.add_argument("--min-interval", type=float, help="add: seconds between requests")
        parser.add_argument("--max-processes", type=int, help="add: processes at once")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"name an action: {', '.join(ACTIONS)}", print_help=True)
        action, rest = args[0], args[1:]
        from crawler.accounts import AccountsError, KeyProblem, new_key

        try:
            if action == "keygen":
                print(new_key())
            elif action == "add":
                add_account(self.settings, rest, opts)
            else:
                self.exitcode = self._with_pool(action, rest, opts)
        except (AccountsError, KeyProblem) as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = EXIT_CODES["usage_error"]

    def _with_pool(self, action: str, rest: list[str], opts: argparse.Namespace) -> int:
        from crawler.accounts import pool_from_settings

        pool = pool_from_settings(self.settings)
        try:
            if action == "check":
                counts = ", ".join(f"{p}: {len(a)}" for p, a in sorted(pool.pools.items()))
                key = "kept encrypted" if pool.vault else "not kept (no key)"
                print(f"accounts ok ({counts or 'no pools'}); cookies {key}")
            elif action == "list":
                if not getattr(pool.store, "client", None):
                    print(
                        "(no ACCOUNTS_REDIS_URL or REDIS_URL: each crawl keeps its own state)",
                        file=sys.stderr,
                    )
                rows = pool.status(rest[0] if rest else None)
                for row in rows:
                    print(json.dumps(row) if opts.json else describe(row))
            else:
                if not rest:
                    raise UsageError("reinstate which account? [POOL/]NAME")
                name = rest[0]
                pool_name, _, name = name.rpartition("/")
                pool_name = pool_name or _only_pool_of(pool.pools, name)
                pool.reinstate(pool_name, name)
                print(f"{pool_name}/{name} reinstated")
        finally:
            pool.close()
        return 0


def _only_pool_of(pools: dict[str, list[Any]], name: str) -> str:
    from crawler.accounts import AccountsError

    found = [p for p, accounts in pools.items() if any(a.name == name for a in accounts)]
    if len(found) != 1:
        where = "no pool" if not found else f"pools {', '.join(sorted(found))}"
        raise AccountsError(f"account {name!r} is in {where}: say POOL/{name}")
    return found[0]


class _AnyValue(dict):
    """An environment in which every variable is set."""

    def get(self, key: Any, default: Any = None) -> str:
        return "set"

    def __getitem__(self, key: Any) -> str:
        return "set"


def _when(seconds: float | None) -> str:
    if not seconds:
        return "-"
    return datetime.datetime.fromtimestamp(seconds).isoformat(sep=" ", timespec="seconds")


def describe(row: dict[str, Any]) -> str:
    """One line per account.

    >>> describe({"pool": "p", "account": "a", "state": "retired", "retired": "3 bans",
    ...           "holders": [], "requests_today": 2, "daily_quota": None, "bans": 3,
    ...           "last_used": None, "cooling_until": None})
    'p/a  retired (3 bans)  today 2  bans 3  last used -'
    """
    state = row["state"]
    if state == "leased":
        state += " by " + ", ".join(f"{h['host']}:{h['pid']}" for h in row["holders"])
    elif state == "cooling":
        state += f" until {_when(row['cooling_until'])}"
    elif state == "retired":
        state += f" ({row['retired']})"
    quota = f"/{row['daily_quota']}" if row.get("daily_quota") else ""
    return (
        f"{row['pool']}/{row['account']}  {state}  today {row['requests_today']}{quota}  "
        f"bans {row['bans']}  last used {_when(row['last_used'])}"
    )


def add_account(settings: Any, rest: list[str], opts: argparse.Namespace) -> None:
    """Append an entry to ACCOUNTS_FILE (YAML: a text line under its pool; JSON: rewritten)."""
    from crawler.accounts import AccountsError
    from crawler.accounts.specs import load_accounts_file, parse_accounts

    if len(rest) != 2 or not opts.username or not opts.password_env:
        raise UsageError("add POOL NAME --username U --password-env VAR")
    path = settings.get("ACCOUNTS_FILE")
    if not path:
        raise AccountsError("ACCOUNTS_FILE is not set: where should the account go?")
    pool, name = rest
    entry: dict[str, Any] = {"name": name, "username": opts.username}
    entry["password_env"] = opts.password_env
    for key in ("daily_quota", "min_interval", "max_processes"):
        if getattr(opts, key) is not None:
            entry[key] = getattr(opts, key)
    # the entries are checked for their shape; their variables may be set only where crawls run
    anything = _AnyValue()
    parse_accounts([entry], pool, environ=anything)
    file = Path(path)
    present = file.exists() and file.stat().st_size
    existing = load_accounts_file(file, environ=anything) if present else {}
    if any(a.name == name for a in existing.get(pool, [])):
        raise AccountsError(f"{path}: pool {pool!r} already has an account {name!r}")
    if file.suffix == ".json":
        data = json.loads(file.read_text(encoding="utf-8")) if existing else {}
        data.setdefault(pool, []).append(entry)
        file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    else:
        text = file.read_text(encoding="utf-8") if file.exists() else ""
        line = "  - " + json.dumps(entry)  # a JSON object is a YAML flow mapping
        lines = text.splitlines()
        at = next((i for i, x in enumerate(lines) if x.rstrip() == f"{pool}:"), None)
        if at is None:
            lines += [f"{pool}:", line]
        else:
            end = at + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                end += 1
            lines.insert(end, line)
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{pool}/{name} added to {path}")
