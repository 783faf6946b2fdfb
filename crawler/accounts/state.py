"""What is known of one account, shared by every process using it, and the rules that change
it: leases, the request rate, the daily quota, cooldowns after bans, retirement.

Pure functions on an :class:`AccountState` and the time (``now``, seconds since the epoch, from
Redis's clock when the state is there; the quota's ``day``, a local date). The stores
(crawler/accounts/pool.py) apply them atomically; there is one code path whether the state
lives in Redis or in the process.

- A **lease** is held by a token with an expiry (renewed by its holder's heartbeat): a killed
  process frees the account once its lease expires. At most ``max_processes`` holders.
- The **rate** is one request every ``min_interval`` seconds, no bursts: a grant moves the
  account's next allowed time on.
- The **daily quota** counts requests per local day (``ACCOUNTS_QUOTA_TIMEZONE``): it resets at
  local midnight, not on a rolling 24 hours.
- A **ban** rests the account for ``cooldown`` seconds, doubled with each ban in a row (up to
  ``cooldown_max``); a streak is forgotten once the account was quiet for twice
  ``cooldown_max``. ``max_bans`` bans, or ``max_login_failures`` failed logins in a row,
  **retire** it until an admin reinstates it.

>>> s, lim = AccountState(), Limits(min_interval=2, daily_quota=2, max_bans=2, cooldown=10)
>>> lease(s, 100.0, "2026-01-01", lim, "t1", {"host": "h", "pid": 1}, ttl=60)
''
>>> lease(s, 100.0, "2026-01-01", lim, "t2", {"host": "h", "pid": 2}, ttl=60)
'busy'
>>> take(s, 100.0, "2026-01-01", lim, "t1"), take(s, 101.0, "2026-01-01", lim, "t1")
((True, 0.0, ''), (False, 1.0, 'rate'))
>>> take(s, 102.0, "2026-01-01", lim, "t1"), take(s, 104.0, "2026-01-01", lim, "t1")
((True, 0.0, ''), (False, 0.0, 'quota'))
>>> take(s, 104.0, "2026-01-02", lim, "t1")
(True, 0.0, '')
>>> ban(s, 105.0, lim), s.cooling_until, ban(s, 106.0, lim), s.retired
('cooling', 115.0, 'retired', '2 bans')
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

FREE, LEASED, COOLING, RETIRED, EXHAUSTED = "free", "leased", "cooling", "retired", "exhausted"


@dataclass(frozen=True)
class Limits:
    """An account's limits; 0 means none of that kind."""

    min_interval: float = 0.0  # seconds between two requests of the account
    daily_quota: int = 0  # requests per local day
    max_processes: int = 1  # processes holding the account at once
    max_bans: int = 3  # bans before it is retired
    max_login_failures: int = 3  # failed logins in a row before it is retired
    cooldown: float = 300.0  # rest after a first ban (s), doubled per ban in a row
    cooldown_max: float = 21600.0


@dataclass
class AccountState:
    holders: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> who, until
    next_at: float = 0.0  # the earliest time of its next request
    day: str = ""  # the local day used_today counts
    used_today: int = 0
    total: int = 0
    bans: int = 0  # since it was (re)instated
    ban_streak: int = 0
    last_ban: float = 0.0
    cooling_until: float = 0.0
    login_failures: int = 0  # in a row
    retired: str = ""  # why, when retired
    retired_at: float = 0.0
    last_used: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> AccountState:
        if not text:
            return cls()
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def expire(state: AccountState, now: float) -> None:
    """Forget holders whose lease ran out (a killed process)."""
    for token in [t for t, h in state.holders.items() if h.get("until", 0) <= now]:
        del state.holders[token]


def _roll_day(state: AccountState, day: str) -> None:
    if day > state.day:  # ISO dates; a process whose clock is behind never turns a day back
        state.day, state.used_today = day, 0


def why_unusable(state: AccountState, now: float, day: str, limits: Limits) -> str:
    """'' when the account may be used now (by a holder), else retired, cooling or quota."""
    _roll_day(state, day)
    if state.retired:
        return RETIRED
    if state.cooling_until > now:
        return COOLING
    if limits.daily_quota and state.used_today >= limits.daily_quota:
        return "quota"
    return ""


def lease(
    state: AccountState,
    now: float,
    day: str,
    limits: Limits,
    token: str,
    holder: dict[str, Any],
    ttl: float,
) -> str:
    """Lease the account to ``token``: '' when granted, else why not (busy, retired, ...)."""
    expire(state, now)
    why = why_unusable(state, now, day, limits)
    if why:
        return why
    if token not in state.holders and len(state.holders) >= limits.max_processes:
        return "busy"
    state.holders[token] = {**holder, "since": now, "until": now + ttl}
    return ""


def renew(state: AccountState, now: float, token: str, ttl: float) -> bool:
    """Move the lease's expiry on; False when it was lost (expired, or the account retired)."""
    expire(state, now)
    held = state.holders.get(token)
    if held is None or state.retired:
        return False
    held["until"] = now + ttl
    return True


def release(state: AccountState, token: str) -> None:
    state.holders.pop(token, None)


def take(
    state: AccountState, now: float, day: str, limits: Limits, token: str
) -> tuple[bool, float, str]:
    """One request of the holder ``token``: (True, 0, '') when it may go now (counted against
    the rate and the quota); (False, seconds, 'rate') to wait; (False, 0, why) when the account
    cannot serve (lost, retired, cooling, quota): switch to another."""
    if token not in state.holders:
        return False, 0.0, "lost"
    why = why_unusable(state, now, day, limits)
    if why:
        return False, 0.0, why
    if limits.min_interval and state.next_at > now:
        return False, round(state.next_at - now, 6), "rate"
    if limits.min_interval:
        state.next_at = max(state.next_at, now) + limits.min_interval
    state.used_today += 1
    state.total += 1
    state.last_used = now
    return True, 0.0, ""


def ban(state: AccountState, now: float, limits: Limits) -> str:
    """A ban met by the account: 'retired' or 'cooling'."""
    if now - state.last_ban > 2 * limits.cooldown_max:
        state.ban_streak = 0
    state.bans += 1
    state.ban_streak += 1
    state.last_ban = now
    if state.bans >= limits.max_bans:
        retire(state, now, f"{state.bans} ban{'s' if state.bans != 1 else ''}")
        return RETIRED
    rest = min(limits.cooldown * 2 ** (state.ban_streak - 1), limits.cooldown_max)
    state.cooling_until = max(state.cooling_until, now + rest)
    return COOLING


def login_result(state: AccountState, now: float, ok: bool, limits: Limits) -> bool:
    """Count a login; True when failures retired the account."""
    if ok:
        state.login_failures = 0
        return False
    state.login_failures += 1
    if state.login_failures >= limits.max_login_failures:
        retire(state, now, f"{state.login_failures} failed logins")
        return True
    return False


def retire(state: AccountState, now: float, why: str) -> None:
    state.retired, state.retired_at = why, now
    state.holders.clear()


def reinstate(state: AccountState) -> None:
    """An admin's word: the account is usable again, its bans and failures forgotten."""
    state.retired, state.retired_at = "", 0.0
    state.bans = state.ban_streak = state.login_failures = 0
    state.cooling_until = 0.0


def view(state: AccountState, now: float, day: str, limits: Limits) -> dict[str, Any]:
    """What the API shows of an account: its state and use, never a credential.

    >>> view(AccountState(), 0.0, "2026-01-01", Limits(daily_quota=5))["state"]
    'free'
    """
    expire(state, now)
    why = why_unusable(state, now, day, limits)
    if why == "quota":
        why = EXHAUSTED
    current = why or (LEASED if state.holders else FREE)
    return {
        "state": current,
        "holders": [
            {"host": h.get("host"), "pid": h.get("pid"), "since": h.get("since")}
            for h in state.holders.values()
        ],
        "cooling_until": state.cooling_until if state.cooling_until > now else None,
        "retired": state.retired or None,
        "retired_at": state.retired_at or None,
        "last_used": state.last_used or None,
        "requests_today": state.used_today,
        "daily_quota": limits.daily_quota or None,
        "requests_total": state.total,
        "bans": state.bans,
        "login_failures": state.login_failures,
        "min_interval": limits.min_interval,
        "max_processes": limits.max_processes,
    }
