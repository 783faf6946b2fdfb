"""Cookie sessions: a pool of named cookie jars, rotated per request, logged in when needed.

``CookieSessionMiddleware`` gives each request a session from the pool
(crawler.antiban.cookie_sessions): ``meta["antiban_session"]`` (its name: the user-agent
profile and, with ``PROXY_POLICY = "sticky_session"``, the proxy stick to it) and
``meta["cookiejar"]`` (its jar, which Scrapy's CookiesMiddleware keeps). Cookies loaded from files are handed to the jar on
a session's first request to each host. With a login step, a session logs in (a form POST,
credentials from the environment) before its first request. A session that is banned
``SESSION_MAX_BANS`` times, or sent to a login page, is retired and replaced.

Settings: ``SESSION_COUNT``, ``SESSION_ROTATE`` (round_robin | random),
``SESSION_COOKIES_FILES``, ``SESSION_LOGIN_URL``, ``SESSION_LOGIN_FORM`` (``{"user":
"${SITE_USER}", "password": "${SITE_PASSWORD}"}``), ``SESSION_LOGIN_SUCCESS_MARKER``,
``SESSION_LOGIN_FAILURE_MARKER``, ``SESSION_MAX_BANS``, ``SESSION_LOGIN_MAX_FAILURES``. Without
any of count, files or login the middleware is off. Requests that bring their own
``meta["cookiejar"]`` are left alone. Order: 540 (before the proxy and user-agent middlewares).

With ``ACCOUNTS_POOL`` each session is bound to an account leased from the deployment's pool
(crawler/antiban/cookie_session_accounts.py): the login form fills from the account
(``{account.username}``, ``{account.password}``; that pair by default), its stored cookies
spare a login, its rate and daily quota hold for every request, and bans count against it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import FormRequest, Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.antiban.cookie_session_accounts import NoAccount, SessionAccounts
from crawler.antiban.cookie_sessions import LoginStep, Session, SessionPool
from crawler.antiban.signals import request_banned
from crawler.core.switches import off, refuse_start
from vocab import Outcome

logger = logging.getLogger(__name__)


def login_from_settings(settings: Any) -> LoginStep | None:
    url = settings.get("SESSION_LOGIN_URL")
    if not url:
        return None
    form = settings.get("SESSION_LOGIN_FORM") or {}
    if isinstance(form, str):
        form = json.loads(form)
    return LoginStep(
        url=url,
        form=dict(form),
        success_marker=settings.get("SESSION_LOGIN_SUCCESS_MARKER") or None,
        failure_marker=settings.get("SESSION_LOGIN_FAILURE_MARKER") or None,
    )


class CookieSessionMiddleware:
    def __init__(
        self, crawler: Crawler, pool: SessionPool, accounts: SessionAccounts | None = None
    ) -> None:
        s = crawler.settings
        self.accounts = accounts
        self.crawler = crawler
        self.stats = crawler.stats
        self.pool = pool
        self.max_bans = s.getint("SESSION_MAX_BANS")
        self.login_max_failures = s.getint("SESSION_LOGIN_MAX_FAILURES")
        self._login_failures = 0
        self._login_waiters: dict[str, list[Deferred]] = {}
        self._stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CookieSessionMiddleware:
        s = crawler.settings
        if not s.getbool("SESSION_ENABLED"):
            raise off("CookieSessionMiddleware", "SESSION_ENABLED is off")
        login = login_from_settings(s)
        files = s.getlist("SESSION_COOKIES_FILES")
        count = s.getint("SESSION_COUNT")
        accounts = _accounts(crawler, login)
        if accounts is not None:
            assert login is not None
            login.form = login.form or {
                "username": "{account.username}",
                "password": "{account.password}",
            }
            files, count = [], max(count, 1)
        if not (count or files or login):
            raise off(
                "CookieSessionMiddleware", "no sessions (SESSION_COUNT, _COOKIES_FILES, _LOGIN_URL)"
            )
        if login:
            missing = login.missing_env()
            if missing:
                # Crawling on without the login would only collect login pages: refuse to start.
                refuse_start(
                    crawler,
                    f"the login step (SESSION_LOGIN_FORM) needs environment variable(s) "
                    f"{', '.join(missing)}, which are not set: set them, or remove the login",
                )
                raise NotConfigured
        pool = SessionPool(
            count=count,
            cookies_files=files,
            login=login,
            rotate=s.get("SESSION_ROTATE"),
        )
        mw = cls(crawler, pool, accounts)
        crawler.signals.connect(mw.on_banned, signal=request_banned)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_opened(self, spider: Any) -> None:
        sources = sorted({s.source.split(":", 1)[0] for s in self.pool.sessions})
        logger.info("Sessions: %d (%s)", len(self.pool.sessions), ", ".join(sources))
        if self.accounts is not None:
            logger.info("Sessions lease accounts of pool %s", self.accounts.name)
            self.accounts.start()

    def spider_closed(self, spider: Any) -> None:
        if self.accounts is not None:
            self.accounts.close()

    async def process_request(self, request: Request) -> None:
        if request.meta.get("antiban_login"):
            return None
        if "cookiejar" in request.meta and "antiban_session" not in request.meta:
            return None  # the spider manages its own jars
        tries = len(self.pool.sessions) + 1
        if self.accounts is not None:  # each switch of account costs a turn
            tries += 2 * len(self.accounts.pool.accounts(self.accounts.name)) + 2
        for _ in range(tries):
            if self._stopping:
                raise IgnoreRequest("the crawl is stopping")
            session = self.pool.pick()
            if session is None:
                self._stop("every session was retired")
            if self.accounts is not None:
                try:
                    session = await self.accounts.bind(session)
                except NoAccount as exc:
                    self._stop(str(exc), "antiban_no_account")
                if not session.logged_in:
                    self.accounts.reuse_cookies(session)
            needs_login = self.pool.login is not None and not session.logged_in
            if needs_login and not await self._ensure_login(session):
                continue
            if self.accounts is not None and not await self.accounts.grant(session):
                continue  # the account was let go: the session leases another
            self._apply(request, session)
            return None
        self._stop("no session could log in")

    def _apply(self, request: Request, session: Session) -> None:
        request.meta["antiban_session"] = session.name
        request.meta["antiban_session_jar"] = session.jar
        request.meta["cookiejar"] = session.jar
        session.requests += 1
        host = urlparse_cached(request).hostname or ""
        if session.cookies and host not in session.seeded:
            # Scrapy's CookiesMiddleware moves request cookies into the named jar.
            session.seeded.add(host)
            given = (
                request.cookies
                if isinstance(request.cookies, list)
                else [{"name": k, "value": v} for k, v in (request.cookies or {}).items()]
            )
            mine = [c for c in session.cookies if _domain_matches(c.get("domain"), host)]
            request.cookies = mine + list(given)
        self.stats.inc_value("antiban/sessions/requests")

    def _stop(self, why: str, reason: str = "antiban_no_session") -> None:
        if not self._stopping:
            self._stopping = True
            logger.error(
                "Stopping the crawl: %s (see SESSION_* settings / the rule's sessions)", why
            )
            self.stats.set_value("antiban/stopped", reason.removeprefix("antiban_"))
            self._closing = deferred_from_coro(
                self.crawler.engine.close_spider_async(reason=reason)
            )
        raise IgnoreRequest(why)

    # -- login ------------------------------------------------------------------------------

    async def _ensure_login(self, session: Session) -> bool:
        jar = session.jar
        if jar in self._login_waiters:
            waiter: Deferred = Deferred()
            self._login_waiters[jar].append(waiter)
            return await maybe_deferred_to_future(waiter)
        self._login_waiters[jar] = []
        ok = False
        try:
            ok = await self._login(session)
        finally:
            for waiter in self._login_waiters.pop(jar, []):
                waiter.callback(ok)
        return ok

    async def _login(self, session: Session) -> bool:
        step = self.pool.login
        assert step is not None
        account = self.accounts.account_of(session) if self.accounts is not None else None
        request = FormRequest(
            step.url,
            formdata=step.formdata(account),
            dont_filter=True,
            meta={
                "cookiejar": session.jar,
                "antiban_session": session.name,
                "antiban_login": True,
                "dont_check_ban": True,
            },
        )
        if session.cookies:
            request.cookies = list(session.cookies)
        try:
            engine = self.crawler.engine
            if hasattr(engine, "download_async"):  # Scrapy >= 2.14
                response = await engine.download_async(request)
            else:
                response = await maybe_deferred_to_future(engine.download(request))
        except Exception as exc:  # the login must not take the crawl down with a traceback
            response, error = None, f"{type(exc).__name__}"
        else:
            error = self._login_error(step, response)
        if self.accounts is not None:
            self.accounts.login_done(session, error is None)
            if error is not None:
                self.stats.inc_value("antiban/sessions/login_failed")
                logger.warning(
                    "Session %s could not log in at %s: %s", session.name, step.url, error
                )
                return False
        if error is None:
            session.logged_in = True
            self.stats.inc_value("antiban/sessions/login_ok")
            logger.info("Session %s logged in at %s", session.name, step.url)
            return True
        self._login_failures += 1
        self.stats.inc_value("antiban/sessions/login_failed")
        logger.warning("Session %s could not log in at %s: %s", session.name, step.url, error)
        if self._login_failures >= self.login_max_failures:
            self._stop(f"{self._login_failures} failed logins at {step.url}")
        self._retire(session, "login_failed")
        return False

    @staticmethod
    def _login_error(step: LoginStep, response: Response) -> str | None:
        if response.status >= 400:
            return f"status {response.status}"
        text = getattr(response, "text", "")
        if step.failure_marker and re.search(step.failure_marker, text, re.I):
            return "the failure marker is on the page"
        if step.success_marker and not re.search(step.success_marker, text, re.I):
            return "the success marker is missing from the page"
        return None

    # -- bans -------------------------------------------------------------------------------

    def on_banned(self, request: Request, reason: str, outcome: Outcome, **kwargs: Any) -> None:
        if outcome is not Outcome.BAN:
            return
        session = self.pool.by_name(request.meta.get("antiban_session", ""))
        if session is None or request.meta.get("antiban_session_jar") != session.jar:
            return  # an older generation, already replaced
        if self.accounts is not None:
            self.accounts.banned(session, reason)
            return
        session.bans += 1
        if reason == "login_redirect" or session.bans >= self.max_bans:
            self._retire(session, reason)

    def _retire(self, session: Session, reason: str) -> None:
        old = session.jar
        new = self.pool.retire(session)
        self.stats.inc_value("antiban/sessions/retired")
        logger.info(
            "Session %s retired (%s)%s", old, reason, f": replaced by {new.jar}" if new else ""
        )


def _accounts(crawler: Crawler, login: LoginStep | None) -> SessionAccounts | None:
    """The sessions' account pool (ACCOUNTS_POOL), or None; a pool that cannot be used refuses
    the crawl's start in one line."""
    from crawler.accounts import AccountsError, KeyProblem

    try:
        accounts = SessionAccounts.from_crawler(crawler)
    except (AccountsError, KeyProblem) as exc:
        refuse_start(crawler, f"account pool: {exc}")
        raise NotConfigured from None
    if accounts is not None and login is None:
        refuse_start(crawler, "ACCOUNTS_POOL needs a login step (SESSION_LOGIN_URL)")
        raise NotConfigured
    for account in accounts.pool.accounts(accounts.name) if accounts and login else ():
        try:
            login.formdata(account)
        except KeyError as exc:
            refuse_start(
                crawler,
                f"SESSION_LOGIN_FORM names {{account.{exc.args[0]}}}, which account "
                f"{account.name} of pool {accounts.name} does not have",
            )
            raise NotConfigured from None
    return accounts


def _domain_matches(domain: str | None, host: str) -> bool:
    if not domain:
        return True
    domain = domain.lstrip(".").lower()
    return host == domain or host.endswith("." + domain)
