"""The accounts a crawl may log in with: where they are written (a file outside the repository,
or the environment), what an entry holds, its limits, and the one-line errors of a bad entry.

Accounts never come from a rule: a rule names a pool (``sessions: {accounts: shop}``), the
deployment says what the pool holds. ``ACCOUNTS_FILE`` is YAML or JSON, a mapping of pool name
to a list of accounts::

    shop:
      - {name: ann, username: ann@example.com, password_env: SHOP_ANN_PASSWORD,
         min_interval: 2, daily_quota: 500}
      - {name: bob, username: bob@example.com, password_env: SHOP_BOB_PASSWORD}

An environment variable ``ACCOUNTS_POOL_<POOL>`` holds a JSON list of the same entries (pool
names are lower-cased). A password is given as ``password_env`` (the variable holding it) or
``password`` (then the file itself is the secret). Other keys of an entry (``email``,
``otp_seed``...) are extra form values for the login (``{account.email}``).

A password is a :class:`Secret`: it prints as ``***``, so no log line, stat or API answer
can carry it by accident.

>>> accounts = parse_accounts([{"name": "ann", "username": "a", "password": "pw"}], "shop")
>>> accounts[0]
Account(pool='shop', name='ann', ...)
>>> accounts[0].password.reveal(), accounts[0].limits.max_processes
('pw', 1)
>>> parse_accounts([{"name": "x", "username": "u"}], "shop", where=lambda i, k: "f.yaml:3")
Traceback (most recent call last):
...
crawler.accounts.specs.AccountsError: f.yaml:3: account 'x' of pool 'shop': needs password or password_env
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.accounts.state import Limits

ENV_PREFIX = "ACCOUNTS_POOL_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LIMIT_KEYS = {
    "min_interval": float,
    "per_minute": float,
    "daily_quota": int,
    "max_processes": int,
    "max_bans": int,
    "max_login_failures": int,
    "cooldown": float,
    "cooldown_max": float,
}
KNOWN = {"name", "username", "password", "password_env", *LIMIT_KEYS}
MAX_FILE = 1024 * 1024


class AccountsError(ValueError):
    """An accounts file or variable that cannot be used: one line, naming file:line."""


class Secret:
    """A value that never prints.

    >>> s = Secret("hunter2")
    >>> str(s), repr(s), f"{s}"
    ('***', "Secret('***')", '***')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    __format__ = lambda self, spec: "***"  # noqa: E731


@dataclass(frozen=True)
class Account:
    pool: str
    name: str
    username: str = field(repr=True)
    password: Secret = field(repr=True, compare=False)
    limits: Limits = field(default_factory=Limits, repr=False)
    extra: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Account(pool={self.pool!r}, name={self.name!r}, ...)"  # no credential

    def form_value(self, key: str) -> str:
        """A form value of this account: username, password or an extra key."""
        if key == "password":
            return self.password.reveal()
        if key == "username":
            return self.username
        if key in self.extra:
            return self.extra[key]
        raise KeyError(key)


def limits_from_settings(settings: Any) -> Limits:
    """The limits an account has unless its entry says otherwise (ACCOUNTS_* settings)."""
    return Limits(
        min_interval=settings.getfloat("ACCOUNTS_MIN_INTERVAL"),
        daily_quota=settings.getint("ACCOUNTS_DAILY_QUOTA"),
        max_processes=settings.getint("ACCOUNTS_MAX_PROCESSES"),
        max_bans=settings.getint("ACCOUNTS_MAX_BANS"),
        max_login_failures=settings.getint("ACCOUNTS_MAX_LOGIN_FAILURES"),
        cooldown=settings.getfloat("ACCOUNTS_COOLDOWN"),
        cooldown_max=settings.getfloat("ACCOUNTS_COOLDOWN_MAX"),
    )


def _limits(entry: Mapping[str, Any], base: Limits, fail: Callable[[str, str], None]) -> Limits:
    values: dict[str, Any] = {}
    for key, kind in LIMIT_KEYS.items():
        if key not in entry:
            continue
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            fail(key, f"{key} must be a number >= 0, not {value!r}")
        if kind is int and value != int(value):
            fail(key, f"{key} must be a whole number, not {value!r}")
        values[key] = kind(value)
    per_minute = values.pop("per_minute", 0)
    if per_minute:
        values["min_interval"] = max(values.get("min_interval", base.min_interval), 60 / per_minute)
    if values.get("max_processes", 1) < 1:
        fail("max_processes", "max_processes must be at least 1")
    return Limits(**{**base.__dict__, **values})


def parse_accounts(
    entries: Any,
    pool: str,
    *,
    base: Limits | None = None,
    environ: Mapping[str, str] | None = None,
    where: Callable[[int, str | None], str] = lambda i, k: "accounts",
) -> list[Account]:
    """The accounts of ``pool`` from a list of entries; :class:`AccountsError` at the first bad
    one (``where(index, key)`` names its place: ``file:line``)."""
    environ = os.environ if environ is None else environ
    if not NAME.match(pool):
        raise AccountsError(f"{where(-1, None)}: pool name {pool!r}: letters, digits, _ . -")
    if not isinstance(entries, list):
        raise AccountsError(f"{where(-1, None)}: pool {pool!r} must be a list of accounts")
    accounts: list[Account] = []
    for i, entry in enumerate(entries):
        label = f"account {entry.get('name')!r}" if isinstance(entry, dict) else f"entry {i + 1}"

        def fail(key: str | None, message: str, i: int = i, label: str = label) -> None:
            raise AccountsError(f"{where(i, key)}: {label} of pool {pool!r}: {message}")

        if not isinstance(entry, dict):
            fail(None, "must be a mapping {name, username, password_env, ...}")
        name = entry.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            fail("name", "needs a name (letters, digits, _ . -)")
        if any(a.name == name for a in accounts):
            fail("name", "the name is used twice in this pool")
        username = entry.get("username")
        if not isinstance(username, str) or not username:
            fail("username", "needs a username")
        if "password_env" in entry:
            var = entry["password_env"]
            if not isinstance(var, str) or not environ.get(var):
                fail("password_env", f"environment variable {var!r} is not set")
            password = environ[var]
        elif isinstance(entry.get("password"), str) and entry["password"]:
            password = entry["password"]
        else:
            fail(None, "needs password or password_env")
        extra = {k: str(v) for k, v in entry.items() if k not in KNOWN}
        limits = _limits(entry, base or Limits(), fail)
        accounts.append(Account(pool, name, username, Secret(password), limits, extra))
    return accounts


def load_accounts_file(
    path: str | Path, *, base: Limits | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, list[Account]]:
    """Every pool of an accounts file (YAML or JSON), errors naming ``file:line``."""
    from crawler.rules.yamlpos import YamlError, load_yaml

    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE:
            raise AccountsError(f"{path}: larger than {MAX_FILE} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AccountsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data, positions = load_yaml(text, str(path))
    except YamlError as exc:
        line = getattr(exc, "position", None)
        raise AccountsError(f"{path}:{line.line if line else 1}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AccountsError(f"{path}:1: must map pool names to lists of accounts")
    pools: dict[str, list[Account]] = {}
    for pool, entries in data.items():

        def where(i: int, key: str | None, pool: Any = pool) -> str:
            at = (pool,) if i < 0 else (pool, i) if key is None else (pool, i, key)
            found = positions.get(at) or positions.get(at[:2]) or positions.get(at[:1])
            return f"{path}:{found.line}" if found else str(path)

        pools[str(pool)] = parse_accounts(
            entries, str(pool), base=base, environ=environ, where=where
        )
    return pools


def load_accounts_env(
    environ: Mapping[str, str] | None = None, *, base: Limits | None = None
) -> dict[str, list[Account]]:
    """Pools from ``ACCOUNTS_POOL_<POOL>`` variables (JSON lists of entries)."""
    environ = os.environ if environ is None else environ
    pools: dict[str, list[Account]] = {}
    for var in sorted(v for v in environ if v.startswith(ENV_PREFIX) and len(v) > len(ENV_PREFIX)):
        pool = var[len(ENV_PREFIX) :].lower()
        try:
            entries = json.loads(environ[var])
        except ValueError as exc:
            raise AccountsError(f"${var}: not JSON ({exc.msg} at char {exc.pos})") from None
        pools[pool] = parse_accounts(
            entries, pool, base=base, environ=environ, where=lambda i, k, v=var: f"${v}[{i}]"
        )
    return pools


def load_accounts(
    settings: Any, environ: Mapping[str, str] | None = None
) -> dict[str, list[Account]]:
    """Every pool this deployment holds: ``ACCOUNTS_FILE``, then ``ACCOUNTS_POOL_*`` variables
    (a pool in both: the variable's). A file inside the rules directory is refused: accounts
    are the deployment's, never the repository's."""
    base = limits_from_settings(settings)
    pools: dict[str, list[Account]] = {}
    path = settings.get("ACCOUNTS_FILE")
    if path:
        rules_dir = settings.get("RULES_DIR")
        if rules_dir and Path(path).resolve().is_relative_to(Path(rules_dir).resolve()):
            raise AccountsError(f"{path}: accounts file inside RULES_DIR; keep it outside the repo")
        pools.update(load_accounts_file(path, base=base, environ=environ))
    pools.update(load_accounts_env(environ, base=base))
    return pools
