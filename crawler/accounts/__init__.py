"""Accounts a crawl logs in with, shared by every process of a deployment (docs/antiban.md,
"Account pools"; settings in crawler/defaults/accounts.py).

- :mod:`.specs`: the accounts file and ``ACCOUNTS_POOL_*`` variables, their limits, one-line
  errors; passwords as :class:`Secret` (never printed);
- :mod:`.state`: the rules of one account's shared state (leases, rate, daily quota, cooldowns,
  retirement), pure functions;
- :mod:`.pool`: :class:`AccountPool` over a store (Redis, or the process);
- :mod:`.vault`: logged-in cookies encrypted with the deployment's key.

The cookie-session middleware (crawler/antiban) binds its sessions to leased accounts; the data
service shows their state (``GET /api/accounts``); ``scrapy accounts`` lists and reinstates.
"""

from crawler.accounts.pool import (
    AccountLease,
    AccountPool,
    Grant,
    LocalAccountStore,
    RedisAccountStore,
    pool_from_settings,
)
from crawler.accounts.specs import Account, AccountsError, Secret, load_accounts
from crawler.accounts.vault import CookieVault, KeyProblem, new_key

__all__ = [
    "Account",
    "AccountLease",
    "AccountPool",
    "AccountsError",
    "CookieVault",
    "Grant",
    "KeyProblem",
    "LocalAccountStore",
    "RedisAccountStore",
    "Secret",
    "load_accounts",
    "new_key",
    "pool_from_settings",
]
