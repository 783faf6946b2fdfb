"""Accounts API: the deployment's account pools (crawler/accounts) as every crawl sharing them
sees them: per pool and account its state (free, leased by which host and pid, cooling down
until when, retired and why), when it was last used, requests today against its daily quota,
bans, failed logins and whether logged-in cookies are stored. Never a username, password or
cookie: only whether an encrypted cookie blob exists.

Pools are shared when their state is in Redis (``ACCOUNTS_REDIS_URL``, or ``REDIS_URL`` for a
distributed deployment); a pool kept in each crawl's own process is not, and the answer says so
(``shared: false``, the accounts listed without state). ``now`` is the service's clock (seconds
since the epoch), against which the times of the answer read.

An admin reinstates an account (``POST /api/accounts/{pool}/{name}/reinstate``: what
``scrapy accounts reinstate`` does; its bans, failed logins and cooldown forgotten), only in a
shared pool (409 otherwise: there is no state here to change).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from crawler.service.access import Admin, read_access
from crawler.service.gate import GatedRoute

logger = logging.getLogger(__name__)

router = APIRouter(
    prefix="/api/accounts",
    tags=["accounts"],
    dependencies=[Depends(read_access)],
    route_class=GatedRoute,
)

NOT_SHARED = (
    "the account pools are not shared (no ACCOUNTS_REDIS_URL or REDIS_URL): each crawl keeps "
    "its own state, which the service cannot change"
)


def _open(request: Request) -> Any:
    from crawler.accounts import AccountsError, KeyProblem, pool_from_settings

    try:
        return pool_from_settings(request.app.state.settings)
    except (AccountsError, KeyProblem) as exc:
        raise HTTPException(503, f"the account pools cannot be read: {exc}") from None


def _shared(accounts: Any) -> bool:
    from crawler.accounts import RedisAccountStore

    return isinstance(accounts.store, RedisAccountStore)


def _with_cookies(accounts: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with ``cookies``: whether the account's encrypted cookies are stored (EXISTS:
    the blob itself is never read)."""
    client = accounts.store.client
    for row in rows:
        key = f"{accounts.prefix}{row['pool']}:{row['account']}:cookies"
        row["cookies"] = bool(client.exists(key))
    return rows


@router.get("")
def list_accounts(
    request: Request, pool: str | None = Query(None, max_length=64)
) -> dict[str, Any]:
    accounts = _open(request)
    shared = _shared(accounts)
    try:
        if pool is not None and pool not in accounts.pools:
            raise HTTPException(404, f"no account pool {pool!r}")
        if not shared:
            names = [pool] if pool else sorted(accounts.pools)
            rows = [{"pool": p, "account": a.name} for p in names for a in accounts.pools[p]]
            return {"shared": False, "now": time.time(), "pools": _by_pool(rows)}
        rows = _with_cookies(accounts, accounts.status(pool))
    except HTTPException:
        raise
    except Exception as exc:  # Redis away: one line, as every operating error
        raise HTTPException(503, f"the account pools' Redis cannot be read: {exc}") from None
    finally:
        accounts.close()
    return {"shared": True, "now": time.time(), "pools": _by_pool(rows)}


@router.post("/{pool}/{name}/reinstate")
def reinstate(
    request: Request,
    who: Admin,
    pool: str = Path(max_length=64),
    name: str = Path(max_length=64),
) -> dict[str, Any]:
    """Return an account to service (admin): ``{"account": its row as listed}``."""
    from crawler.accounts import AccountsError

    accounts = _open(request)
    try:
        if not _shared(accounts):
            raise HTTPException(409, NOT_SHARED)
        try:
            accounts.reinstate(pool, name)
        except AccountsError as exc:
            raise HTTPException(404, str(exc)) from None
        row = next(r for r in accounts.status(pool) if r["account"] == name)
        row = _with_cookies(accounts, [row])[0]
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(503, f"the account pools' Redis cannot be changed: {exc}") from None
    finally:
        accounts.close()
    logger.info("account %s/%s reinstated by %s", pool, name, who.get("id") or who.get("name"))
    row.pop("pool", None)
    return {"pool": pool, "account": row}


def _by_pool(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    pools: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        pools.setdefault(row.pop("pool"), []).append(row)
    return pools
