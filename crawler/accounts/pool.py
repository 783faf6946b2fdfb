"""The account pool: leases, grants and reports on accounts, over a store of their state.

:class:`AccountPool` applies the rules of crawler/accounts/state.py through a store that makes
each change atomic: :class:`RedisAccountStore` (WATCH/MULTI on one key per account, Redis's
clock; every process and machine using that Redis shares it) or :class:`LocalAccountStore`
(one per process, a lock; the same semantics for a crawl on one machine). Keys:
``{prefix}{pool}:{name}`` (the state, JSON) and ``{prefix}{pool}:{name}:cookies`` (the
encrypted cookies, crawler/accounts/vault.py).

>>> from crawler.accounts.specs import parse_accounts
>>> accounts = parse_accounts([{"name": n, "username": n, "password": "x"} for n in "ab"], "p")
>>> pool = AccountPool({"p": accounts}, LocalAccountStore())
>>> first, second = pool.lease("p")[0], pool.lease("p")[0]
>>> first.account.name, second.account.name, pool.lease("p")
('a', 'b', (None, {'busy': 2}))
>>> pool.take(first)
Grant(ok=True, wait=0.0, why='')
"""

from __future__ import annotations

import datetime
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from crawler.accounts import state as rules
from crawler.accounts.specs import Account, AccountsError
from crawler.accounts.state import AccountState
from crawler.accounts.vault import CookieVault

T = TypeVar("T")
Change = Callable[[AccountState, float], T]


class AccountStore(Protocol):
    def update(self, key: str, change: Change[T]) -> T: ...

    def read(self, key: str) -> tuple[AccountState, float]: ...

    def get_blob(self, key: str) -> bytes | None: ...

    def set_blob(self, key: str, blob: bytes | None, ttl: float) -> None: ...

    def close(self) -> None: ...


class LocalAccountStore:
    """The state of one process's accounts; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._states: dict[str, str] = {}
        self._blobs: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def update(self, key: str, change: Change[T]) -> T:
        with self._lock:
            state = AccountState.from_json(self._states.get(key))
            result = change(state, self.clock())
            self._states[key] = state.to_json()
            return result

    def read(self, key: str) -> tuple[AccountState, float]:
        with self._lock:
            return AccountState.from_json(self._states.get(key)), self.clock()

    def get_blob(self, key: str) -> bytes | None:
        with self._lock:
            blob, until = self._blobs.get(key, (b"", 0.0))
            return blob if blob and until > self.clock() else None

    def set_blob(self, key: str, blob: bytes | None, ttl: float) -> None:
        with self._lock:
            if blob is None:
                self._blobs.pop(key, None)
            else:
                self._blobs[key] = (blob, self.clock() + ttl)

    def close(self) -> None:
        pass


class RedisAccountStore:
    """Account state in Redis: each change a WATCH/MULTI transaction, retried on a conflict."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _now(self, client: Any) -> float:
        seconds, micros = client.time()
        return seconds + micros / 1e6

    def update(self, key: str, change: Change[T]) -> T:
        from redis.exceptions import WatchError

        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    state = AccountState.from_json(pipe.get(key))
                    result = change(state, self._now(pipe))
                    pipe.multi()
                    pipe.set(key, state.to_json())
                    pipe.execute()
                    return result
                except WatchError:
                    continue  # another process changed the account meanwhile: again

    def read(self, key: str) -> tuple[AccountState, float]:
        return AccountState.from_json(self.client.get(key)), self._now(self.client)

    def get_blob(self, key: str) -> bytes | None:
        return self.client.get(key)

    def set_blob(self, key: str, blob: bytes | None, ttl: float) -> None:
        if blob is None:
            self.client.delete(key)
        else:
            self.client.set(key, blob, px=max(1, int(ttl * 1000)))

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class AccountLease:
    account: Account
    token: str


@dataclass(frozen=True)
class Grant:
    """``ok``: the request may go now. Else wait ``wait`` s (``why`` = rate), or switch accounts
    (``why`` = lost, retired, cooling, quota)."""

    ok: bool
    wait: float = 0.0
    why: str = ""


def holder_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


class AccountPool:
    def __init__(
        self,
        pools: dict[str, list[Account]],
        store: AccountStore,
        *,
        prefix: str = "crawler:accounts:",
        lease_ttl: float = 60.0,
        timezone: str = "",
        vault: CookieVault | None = None,
        cookies_ttl: float = 7 * 86400,
        holder: dict[str, Any] | None = None,
    ) -> None:
        self.pools = pools
        self.store = store
        self.prefix = prefix
        self.lease_ttl = lease_ttl
        self.vault = vault
        self.cookies_ttl = cookies_ttl
        self.holder = holder or holder_identity()
        self._tz = _zone(timezone)

    def day(self, now: float) -> str:
        """The quota's day: the local date (``ACCOUNTS_QUOTA_TIMEZONE``, else the machine's)."""
        return datetime.datetime.fromtimestamp(now, self._tz).date().isoformat()

    def key(self, account: Account) -> str:
        return f"{self.prefix}{account.pool}:{account.name}"

    def accounts(self, pool: str) -> list[Account]:
        if pool not in self.pools:
            known = ", ".join(sorted(self.pools)) or "none"
            raise AccountsError(
                f"no account pool {pool!r} (ACCOUNTS_FILE, ACCOUNTS_POOL_*: {known})"
            )
        return self.pools[pool]

    def find(self, pool: str, name: str) -> Account:
        for account in self.accounts(pool):
            if account.name == name:
                return account
        raise AccountsError(f"pool {pool!r} has no account {name!r}")

    # -- a crawl's side -------------------------------------------------------------------

    def lease(
        self, pool: str, exclude: frozenset[str] = frozenset()
    ) -> tuple[AccountLease | None, dict[str, int]]:
        """Lease a free account of ``pool`` (the least used today first); else None and how
        many accounts were unusable for each reason (busy, retired, cooling, quota)."""
        order = []
        for account in self.accounts(pool):
            if account.name in exclude:
                continue
            state, _ = self.store.read(self.key(account))
            order.append((state.used_today, state.last_used, account))
        order.sort(key=lambda t: (t[0], t[1]))
        reasons: dict[str, int] = {}
        for _, _, account in order:
            token = uuid.uuid4().hex
            why = self.store.update(
                self.key(account),
                lambda s, now, a=account, t=token: rules.lease(
                    s, now, self.day(now), a.limits, t, self.holder, self.lease_ttl
                ),
            )
            if not why:
                return AccountLease(account, token), reasons
            reasons[why] = reasons.get(why, 0) + 1
        return None, reasons

    def renew(self, lease: AccountLease) -> bool:
        return self.store.update(
            self.key(lease.account), lambda s, now: rules.renew(s, now, lease.token, self.lease_ttl)
        )

    def release(self, lease: AccountLease) -> None:
        self.store.update(self.key(lease.account), lambda s, now: rules.release(s, lease.token))

    def take(self, lease: AccountLease) -> Grant:
        limits = lease.account.limits
        return Grant(
            *self.store.update(
                self.key(lease.account),
                lambda s, now: rules.take(s, now, self.day(now), limits, lease.token),
            )
        )

    def report_ban(self, lease: AccountLease) -> str:
        """A ban of the account: 'cooling' or 'retired'. Its stored cookies are dropped."""
        self.drop_cookies(lease.account)
        limits = lease.account.limits
        return self.store.update(self.key(lease.account), lambda s, now: rules.ban(s, now, limits))

    def report_login(self, lease: AccountLease, ok: bool) -> bool:
        """A login's outcome; True when failed logins retired the account."""
        limits = lease.account.limits
        return self.store.update(
            self.key(lease.account), lambda s, now: rules.login_result(s, now, ok, limits)
        )

    # -- cookies ----------------------------------------------------------------------------

    def cookies(self, account: Account) -> list[dict[str, Any]] | None:
        if self.vault is None:
            return None
        return self.vault.open(self.store.get_blob(self.key(account) + ":cookies"))

    def save_cookies(self, account: Account, cookies: list[dict[str, Any]]) -> None:
        if self.vault is not None and cookies:
            blob = self.vault.seal(cookies)
            self.store.set_blob(self.key(account) + ":cookies", blob, self.cookies_ttl)

    def drop_cookies(self, account: Account) -> None:
        self.store.set_blob(self.key(account) + ":cookies", None, 0)

    # -- an admin's side --------------------------------------------------------------------

    def reinstate(self, pool: str, name: str) -> None:
        account = self.find(pool, name)
        self.store.update(self.key(account), lambda s, now: rules.reinstate(s))

    def status(self, pool: str | None = None) -> list[dict[str, Any]]:
        """Each account of ``pool`` (or of every pool): its state and use, no credential."""
        rows = []
        for name in [pool] if pool else sorted(self.pools):
            for account in self.accounts(name):
                state, now = self.store.read(self.key(account))
                row = rules.view(state, now, self.day(now), account.limits)
                rows.append({"pool": name, "account": account.name, **row})
        return rows

    def close(self) -> None:
        self.store.close()


def _zone(name: str) -> datetime.tzinfo | None:
    if not name:
        return None  # fromtimestamp(now, None): the machine's local time
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AccountsError(f"ACCOUNTS_QUOTA_TIMEZONE: unknown time zone {name!r}") from None


_local = LocalAccountStore()


def store_from_settings(settings: Any) -> AccountStore:
    """Redis when ``ACCOUNTS_REDIS_URL`` is set or the crawl is distributed; else the store
    every crawl of this process shares."""
    from crawler.core.redis import is_distributed, redis_params, redis_url

    url = settings.get("ACCOUNTS_REDIS_URL") or (
        redis_url(settings) if is_distributed(settings) else ""
    )
    if not url:
        return _local
    import redis  # here: a crawl without accounts in Redis never loads redis-py

    return RedisAccountStore(redis.Redis.from_url(url, **redis_params(settings)))


def pool_from_settings(settings: Any, environ: Any = None) -> AccountPool:
    """The deployment's account pool (:class:`AccountsError`, ``KeyProblem``: one line)."""
    from crawler.accounts.specs import load_accounts
    from crawler.accounts.vault import vault_from_settings

    return AccountPool(
        load_accounts(settings, environ),
        store_from_settings(settings),
        prefix=settings.get("ACCOUNTS_KEY_PREFIX"),
        lease_ttl=settings.getfloat("ACCOUNTS_LEASE_TTL"),
        timezone=settings.get("ACCOUNTS_QUOTA_TIMEZONE") or "",
        vault=vault_from_settings(settings, environ),
        cookies_ttl=settings.getfloat("ACCOUNTS_COOKIES_MAX_AGE") or 7 * 86400,
    )
