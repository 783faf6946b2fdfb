"""Sessions in requests: an ASGI middleware that finds the session of the signed cookie, gives it
to the app as ``request.session`` (a plain dict: Authlib's Starlette client keeps the sign-in's
state, PKCE verifier and nonce there) and its :class:`SessionHandle` as
``request.scope["signin.session"]``, and when the response starts saves what changed and sets the
cookies: the session id (HttpOnly, SameSite=Lax, Secure over HTTPS) and, for a signed-in session,
the CSRF token the dashboard sends back in a header (readable by the page's script, SameSite=Lax).

A session is written only once something is put in it (starting a sign-in); signing in gives it
a new id (no session fixation), signing out deletes it and expires both cookies.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders

from crawler.service.signin.signin_sessions import CookieSigner, SessionStore

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

HANDLE = "signin.session"
TOUCH_EVERY = 60.0  # seconds between writes of a session's last request time


class CookieSettings(Protocol):
    cookie_name: str
    csrf_cookie_name: str
    state_ttl: float  # a sign-in under way
    max_age: float  # a signed-in session
    idle: float

    def secure_for(self, scheme: str) -> bool: ...


class SessionKeeper(Protocol):
    """What sessions in requests need of sign-in (:class:`~.signin.SignIn` is the one): its
    settings, the session store, the cookie signer and its clock."""

    config: CookieSettings
    sessions: SessionStore
    signer: CookieSigner
    clock: Callable[[], float]


@dataclass
class CookieNames:
    session: str
    csrf: str


class SessionHandle:
    """One request's session: its id (None: no session yet), its data, what to do at the end."""

    def __init__(self, signin: SessionKeeper, session_id: str | None, stored: Any) -> None:
        self.signin = signin
        self.session_id = session_id
        self.data: dict[str, Any] = dict(stored.data) if stored else {}
        self.created = stored.created if stored else signin.clock()
        self.seen = stored.seen if stored else self.created
        self.expires = stored.expires if stored else self.created + signin.config.state_ttl
        self._before = json.dumps(self.data, sort_keys=True)
        self._rotate = False
        self._clear = False

    @property
    def signed_in(self) -> bool:
        return "person" in self.data

    def sign_in(self, person: dict[str, Any], extra: dict[str, Any]) -> None:
        """Replace the session by a signed-in one under a new id, with a new CSRF token."""
        now = self.signin.clock()
        self.data.clear()
        self.data.update(extra)
        self.data.update(person=person, signed_in_at=now, csrf=secrets.token_urlsafe(32))
        self.created, self.expires = now, now + self.signin.config.max_age
        self._rotate = True

    def sign_out(self) -> None:
        self.data.clear()
        self._clear = True

    def commit(self, secure: bool) -> list[str]:
        """Save the session; the Set-Cookie header values to send."""
        store, config = self.signin.sessions, self.signin.config
        names = CookieNames(config.cookie_name, config.csrf_cookie_name)
        if self._clear:
            if self.session_id:
                store.delete(self.session_id)
            return [_cookie(names.session, "", 0, secure, True),
                    _cookie(names.csrf, "", 0, secure, False)]  # fmt: skip
        changed = json.dumps(self.data, sort_keys=True) != self._before
        if self.session_id is None and not self.data:
            return []
        restarted = changed and not self.signed_in  # a sign-in (re)started: time to finish it
        if restarted:
            self.expires = self.signin.clock() + config.state_ttl
        cookies: list[str] = []
        if self._rotate or self.session_id is None:
            if self.session_id:
                store.delete(self.session_id)
            self.session_id = secrets.token_urlsafe(32)
            store.save(self.session_id, self.data, self.created, self.expires)
        elif changed:
            store.save(self.session_id, self.data, self.created, self.expires)
        elif self.signin.clock() - self.seen >= TOUCH_EVERY:
            store.touch(self.session_id)
        if self._rotate or restarted:
            max_age = max(0, int(self.expires - self.signin.clock()))
            signed = self.signin.signer.sign(self.session_id)
            cookies.append(_cookie(names.session, signed, max_age, secure, True))
            if self.signed_in:
                cookies.append(_cookie(names.csrf, self.data["csrf"], max_age, secure, False))
        return cookies


def _cookie(name: str, value: str, max_age: int, secure: bool, http_only: bool) -> str:
    text = f"{name}={value}; Path=/; Max-Age={max_age}; SameSite=Lax"
    if http_only:
        text += "; HttpOnly"
    if secure:
        text += "; Secure"
    return text


def _cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: as if there were no session
                return None
            if name in jar:
                return jar[name].value
    return None


class SigninSessionMiddleware:
    def __init__(self, app: ASGIApp, signin: SessionKeeper) -> None:
        self.app = app
        self.signin = signin

    def _open(self, value: str | None) -> SessionHandle:
        session_id = self.signin.signer.unsign(value) if value else None
        stored = None
        if session_id is not None:
            stored = self.signin.sessions.load(session_id, self.signin.config.idle)
        return SessionHandle(self.signin, session_id if stored else None, stored)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = _cookie_value(scope, self.signin.config.cookie_name)
        handle = await run_in_threadpool(self._open, value)
        scope["session"] = handle.data
        scope[HANDLE] = handle
        secure = self.signin.config.secure_for(scope.get("scheme", "http"))

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookies = await run_in_threadpool(handle.commit, secure)
                headers = MutableHeaders(scope=message)
                for cookie in cookies:
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookies)
