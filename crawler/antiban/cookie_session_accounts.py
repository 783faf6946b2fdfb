"""Cookie sessions bound to accounts of a shared pool (``ACCOUNTS_POOL``; crawler/accounts).

:class:`SessionAccounts` gives each cookie session an account leased from the pool, keeps the
leases alive (a heartbeat every third of ``ACCOUNTS_LEASE_TTL``) and gives them back when the
crawl closes, with the account's cookies stored encrypted for the next process. Before each
request of a session it asks the pool for a grant: the request waits out the account's rate;
an account out of its daily quota, resting after a ban, retired or lost is let go and the
session leases another (a fresh jar, logged in again); when no account is usable for
``ACCOUNTS_WAIT_MAX`` seconds, the crawl stops. A ban counts against the account (a cooldown,
then retirement); a login page only invalidates its stored cookies.

Stats: ``accounts/leased``, ``accounts/released``, ``accounts/waits`` (polls for a usable
account), ``accounts/rate_waits``, ``accounts/quota_exhausted``, ``accounts/cooling``,
``accounts/bans``, ``accounts/retired``, ``accounts/lost``, ``accounts/logins``,
``accounts/login_failed``, ``accounts/cookies_reused``, ``accounts/cookies_saved``. No account
name or credential is ever part of a stat; logs name accounts, never their credentials.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from crawler.accounts import AccountLease, AccountPool, AccountsError, pool_from_settings
from crawler.antiban.cookie_sessions import Session
from crawler.core.clock import sleep
from crawler.core.switches import describe

logger = logging.getLogger(__name__)
SWITCH = {"quota": "quota_exhausted", "cooling": "cooling", "retired": "retired", "lost": "lost"}


class NoAccount(Exception):
    """No account of the pool became usable within ``ACCOUNTS_WAIT_MAX``."""


class SessionAccounts:
    def __init__(self, crawler: Any, pool: AccountPool, name: str) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.pool = pool
        self.name = name
        self.wait_max = s.getfloat("ACCOUNTS_WAIT_MAX")
        self.poll = s.getfloat("ACCOUNTS_POLL")
        self.bound: dict[str, tuple[Session, AccountLease]] = {}
        self._heartbeat: Any = None
        pool.accounts(name)  # an unknown pool: AccountsError now, not at the first request

    @classmethod
    def from_crawler(cls, crawler: Any) -> SessionAccounts | None:
        """None without ``ACCOUNTS_POOL``; AccountsError or KeyProblem (one line) when the
        deployment's accounts or cookie key cannot be used."""
        name = crawler.settings.get("ACCOUNTS_POOL")
        if not name:
            return None
        pool = pool_from_settings(crawler.settings)
        client = getattr(pool.store, "client", None)
        if client is not None:
            try:
                client.ping()
            except Exception as exc:  # at start, in one line, not at every request
                raise AccountsError(f"cannot reach the pool's Redis: {describe(exc)}") from None
        return cls(crawler, pool, name)

    def account_of(self, session: Session) -> Any:
        bound = self.bound.get(session.name)
        return bound[1].account if bound else None

    # -- leases -----------------------------------------------------------------------------

    def start(self) -> None:
        from twisted.internet import task

        self._heartbeat = task.LoopingCall(self.renew_all)
        self._heartbeat.start(max(self.pool.lease_ttl / 3, 0.05), now=False)

    def renew_all(self) -> None:
        for session, lease in list(self.bound.values()):
            try:
                kept = self.pool.renew(lease)
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                logger.warning(
                    "Could not renew the lease of account %s: %s", lease.account.name, exc
                )
                continue
            if not kept:
                self.stats.inc_value("accounts/lost")
                logger.warning("Lost the lease of account %s", lease.account.name)
                self._unbind(session, release=False)

    async def bind(self, session: Session) -> Session:
        """The session to use, bound to an account: ``session``, leasing an account for it
        (waiting for one) if it has none; or, when no account is free but another session of
        this crawl holds one, that session (more sessions than usable accounts)."""
        deadline = time.monotonic() + self.wait_max
        while True:
            if session.name in self.bound:
                return session
            held = frozenset(lease.account.name for _, lease in self.bound.values())
            lease, reasons = self.pool.lease(self.name, exclude=held)
            if lease is not None:
                self.bound[session.name] = (session, lease)
                session.fresh()  # another account's cookies never go with this one
                self.stats.inc_value("accounts/leased")
                logger.info("Session %s leased account %s", session.name, lease.account.name)
                return session
            if self.bound:
                return next(iter(self.bound.values()))[0]
            if time.monotonic() >= deadline or not reasons.keys() & {"busy", "cooling"}:
                # nothing to wait for: every account is retired or out of its quota for today
                why = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items())) or "none"
                raise NoAccount(f"no usable account in pool {self.name!r} ({why})")
            self.stats.inc_value("accounts/waits")
            await sleep(self.poll)

    async def grant(self, session: Session) -> bool:
        """Wait until the session's account may send one more request: True when it may (the
        request is counted), False when the account was let go (lease another)."""
        start = self.bound.get(session.name)
        while True:
            bound = self.bound.get(session.name)
            if bound is None or bound is not start:
                return False  # let go, or bound anew while this request waited: not logged in yet
            lease = bound[1]
            verdict = self.pool.take(lease)
            if verdict.ok:
                return True
            if verdict.why == "rate":
                self.stats.inc_value("accounts/rate_waits")
                await sleep(verdict.wait)
                continue
            self.stats.inc_value(f"accounts/{SWITCH.get(verdict.why, verdict.why)}")
            logger.info("Account %s let go: %s", lease.account.name, verdict.why)
            self._unbind(session, release=verdict.why != "lost")
            return False

    def _unbind(self, session: Session, *, release: bool = True, save: bool = False) -> None:
        bound = self.bound.get(session.name)
        if bound is None or bound[0] is not session:
            return
        del self.bound[session.name]
        lease = bound[1]
        if save and session.logged_in:
            self.save_cookies(session, lease)
        if release:
            self.pool.release(lease)
            self.stats.inc_value("accounts/released")
        session.fresh()

    def close(self) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        for session, _ in list(self.bound.values()):
            self._unbind(session, save=True)
        self.pool.close()

    # -- cookies and logins -----------------------------------------------------------------

    def reuse_cookies(self, session: Session) -> bool:
        """Give the session its account's stored cookies: True when it is logged in by them."""
        bound = self.bound.get(session.name)
        cookies = self.pool.cookies(bound[1].account) if bound else None
        if not cookies:
            return False
        session.cookies, session.seeded, session.logged_in = cookies, set(), True
        self.stats.inc_value("accounts/cookies_reused")
        logger.info(
            "Session %s reuses the stored cookies of account %s",
            session.name,
            bound[1].account.name,
        )
        return True

    def login_done(self, session: Session, ok: bool) -> None:
        bound = self.bound.get(session.name)
        if bound is None:
            return
        lease = bound[1]
        self.stats.inc_value("accounts/logins" if ok else "accounts/login_failed")
        if ok:
            self.pool.report_login(lease, True)
            self.save_cookies(session, lease)
        elif self.pool.report_login(lease, False):
            self.stats.inc_value("accounts/retired")
            logger.warning("Account %s retired: too many failed logins", lease.account.name)
            self._unbind(session, release=False)

    def save_cookies(self, session: Session, lease: AccountLease) -> None:
        cookies = self._jar_cookies(session.jar)
        if cookies and self.pool.vault is not None:
            self.pool.save_cookies(lease.account, cookies)
            self.stats.inc_value("accounts/cookies_saved")

    def _jar_cookies(self, jar: str) -> list[dict[str, Any]]:
        # Scrapy's CookiesMiddleware keeps one CookieJar per meta["cookiejar"] in its public
        # ``jars`` mapping; its wrapped http.cookiejar jar iterates over the cookies.
        engine = getattr(self.crawler, "engine", None)
        middlewares = getattr(
            getattr(getattr(engine, "downloader", None), "middleware", None), "middlewares", ()
        )
        for mw in middlewares:
            jars = getattr(mw, "jars", None)
            if isinstance(jars, dict) and jar in jars:
                return [
                    {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
                    for c in jars[jar].jar
                    if c.value is not None
                ]
        return []

    # -- bans -------------------------------------------------------------------------------

    def banned(self, session: Session, reason: str) -> None:
        """A ban of the session's account (a login page: its cookies are stale, log in again)."""
        bound = self.bound.get(session.name)
        if bound is None:
            return
        lease = bound[1]
        if reason == "login_redirect":
            self.pool.drop_cookies(lease.account)
            session.fresh()
            return
        verdict = self.pool.report_ban(lease)
        self.stats.inc_value("accounts/bans")
        if verdict == "retired":
            self.stats.inc_value("accounts/retired")
            logger.warning("Account %s retired after a ban (%s)", lease.account.name, reason)
        else:
            logger.info("Account %s rests after a ban (%s)", lease.account.name, reason)
        self._unbind(session, release=verdict != "retired")
