"""Signing in with WeChat, as its web authorization documents it, through the WeChat client of
:mod:`crawler.oauth.wechat_client` (the same one crawls use):

- :meth:`WeChatSignin.start`: a ``state`` of 32 hex digits (letters and digits, well under 128
  bytes) kept in the browser's session, then the ``qrconnect`` (website QR-code login,
  ``snsapi_login``) or ``oauth2/authorize`` (inside WeChat, ``snsapi_base`` or
  ``snsapi_userinfo``) URL: ``appid``, URL-encoded ``redirect_uri``, ``response_type=code``,
  ``scope``, ``state`` in that order, then ``#wechat_redirect``;
- :meth:`WeChatSignin.embed`: the same state, as ``WxLogin``'s parameters (``appid``,
  ``scope``, ``redirect_uri``, ``state``, ``style``, ``href``) for the QR code the sign-in page
  shows itself, in a frame of WeChat's ``qrconnect?...&login_type=jssdk``;
- :meth:`WeChatSignin.finish`: the callback's ``state`` must be the session's (once: it is
  removed) or the sign-in is refused as CSRF; no ``code`` means the person did not allow it; the
  code is exchanged (``sns/oauth2/access_token``), and for ``snsapi_userinfo``/``snsapi_login``
  the profile read (``sns/userinfo``; an expired token, 42001, is refreshed once);
- :meth:`WeChatSignin.recheck`: a signed-in session's token checked (``sns/auth``) and refreshed
  (``sns/oauth2/refresh_token``); a refused refresh token (40030) ends the session.

The person is ``wechat:<unionid>`` when WeChat gives a unionid (the same person across the
company's apps), else ``wechat:<openid>``. The AppSecret and tokens stay here: the secret goes
only to WeChat's API, tokens only into the server-side session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from crawler.oauth import InvalidGrant, OAuthFailure, Token, WeChatClient
from crawler.service.signin.errors import SigninError, wechat_reason
from crawler.service.signin.flow_state import issue_state, take_state
from crawler.service.signin.roles import Identity
from crawler.service.signin.signin_providers import SigninProvider

PROFILE_SCOPES = ("snsapi_userinfo", "snsapi_login")


class WeChatSignin:
    def __init__(
        self,
        provider: SigninProvider,
        secret: str | None,
        *,
        timeout: float,
        state_ttl: float,
        learn: Callable[..., None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.client = WeChatClient(
            provider.wechat_provider(), secret, credential="signin", timeout=timeout, clock=clock
        )
        self.state_ttl = state_ttl
        self.learn = learn  # secrets the log must never show
        self.clock = clock
        self.key = f"_wechat_state_{provider.name}"

    def _state(self, session: dict[str, Any], redirect_uri: str) -> str:
        return issue_state(session, self.key, self.state_ttl, self.clock, redirect_uri=redirect_uri)

    def start(self, session: dict[str, Any], redirect_uri: str) -> str:
        return self.client.authorization_url(redirect_uri, state=self._state(session, redirect_uri))

    def embed(self, session: dict[str, Any], redirect_uri: str) -> dict[str, str]:
        """WeChat's ``WxLogin`` parameters for a QR code shown in the sign-in page itself (the
        dashboard builds the ``qrconnect`` frame from them); the state is kept and checked as
        for :meth:`start`."""
        p = self.provider
        return {"origin": p.open_base, "appid": p.client_id, "scope": p.scope,
                "redirect_uri": redirect_uri, "state": self._state(session, redirect_uri),
                "style": p.qr_style, "href": p.qr_stylesheet}  # fmt: skip

    def finish(self, session: dict[str, Any], params: Mapping[str, str]) -> tuple[Identity, Token]:
        """Who signed in, and their token (kept in the session for :meth:`recheck`)."""
        if take_state(session, self.key, params.get("state", ""), self.clock) is None:
            raise SigninError.of("state", provider=self.provider.label)
        code = params.get("code", "")
        if not code:  # WeChat sends the person back with the state only when they refused
            raise SigninError.of("access_denied", provider=self.provider.label)
        self.learn(code)
        token = self._call(self.client.exchange_code, code)
        self.learn(*token.secrets)
        info: dict[str, Any] = {}
        if self.provider.scope in PROFILE_SCOPES:
            info, token = self._userinfo(token)
        return self.identity(token, info), token

    def _userinfo(self, token: Token) -> tuple[dict[str, Any], Token]:
        try:
            return self.client.userinfo(token, self.provider.lang), token
        except OAuthFailure as exc:
            if exc.errcode != 42001 or not token.refresh_token:
                raise self._error(exc) from None
        fresh = self._refresh(token)
        return self._call(self.client.userinfo, fresh, self.provider.lang), fresh

    def _refresh(self, token: Token) -> Token:
        fresh = self._call(self.client.refresh, token.refresh_token or "")
        # the refresh answer carries openid but no unionid: keep the one learnt at sign-in
        fresh = replace(fresh, unionid=fresh.unionid or token.unionid)
        self.learn(*fresh.secrets)
        return fresh

    def recheck(self, token: Token) -> Token:
        """The token again if WeChat still accepts it, else a refreshed one; raises
        :class:`SigninError` (``wechat_40030``) when the person must sign in again."""
        self.learn(*token.secrets)
        try:
            if self.client.check(token):
                return token
        except OAuthFailure as exc:
            raise self._error(exc) from None
        return self._refresh(token)

    def identity(self, token: Token, info: Mapping[str, Any]) -> Identity:
        openid = str(info.get("openid") or token.openid or "")
        unionid = str(info.get("unionid") or token.unionid or "")
        if not openid:
            raise SigninError.of("no_identity", provider=self.provider.label, detail="openid")
        keys = tuple(f"wechat:{v}" for v in (unionid, openid) if v)
        name = str(info.get("nickname") or "").strip()[:60] or f"WeChat {openid[:6]}…"
        return Identity(self.provider.name, "wechat", keys[0], keys, name)

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except OAuthFailure as exc:
            raise self._error(exc) from None

    def _error(self, exc: OAuthFailure) -> SigninError:
        p = self.provider
        if exc.errcode is not None:
            return SigninError.of(
                wechat_reason(exc.errcode), provider=p.label, errcode=exc.errcode,
                env=p.secret_env or "",
            )  # fmt: skip
        if isinstance(exc, InvalidGrant):
            return SigninError.of("wechat_40030", provider=p.label)
        return SigninError.of("unreachable", provider=p.label)
