"""What each sign-in preset asks its provider, as the provider documents it: the authorization
URL, where the callback's code is, and who signed in (their id, name, and the departments or
organisations roles may name). Every provider error becomes a :class:`Failure` of one kind:
``code`` (the code is invalid, used or expired), ``client`` (our id or secret was refused),
``not_allowed`` (the app may not sign this person in), ``denied`` (the person said no),
``unreachable``, or ``other``; with the provider's own error code.

- **WeCom** (企业微信): ``wwlogin/sso/login``; a corp access token (``cgi-bin/gettoken``, kept
  until it expires, fetched again once on 40014/42001), ``cgi-bin/auth/getuserinfo?code=`` →
  ``userid``, ``cgi-bin/user/get`` → ``name``, ``department``. Errors: HTTP 200, ``errcode`` ≠ 0.
- **DingTalk**: ``login.dingtalk.com/oauth2/auth``; ``POST /v1.0/oauth2/userAccessToken`` (JSON,
  camelCase) → ``accessToken`` (+ ``corpId`` with the ``corpid`` scope); ``GET
  /v1.0/contact/users/me`` (header ``x-acs-dingtalk-access-token``) → ``unionId``, ``nick``.
  Errors: HTTP 4xx, ``{"code": "invalidParameter.authCode.notFound", "message": ...}``.
- **Feishu / Lark**: ``authen/v1/authorize`` with PKCE; ``POST /open-apis/authen/v2/oauth/token``
  → ``access_token``; ``GET /open-apis/authen/v1/user_info`` → ``union_id``, ``open_id``,
  ``name``, ``tenant_key``. Errors: ``code`` ≠ 0 (20003/20004 code, 20002 secret, 20010 the
  person may not use the app).
- **GitHub**: ``login/oauth/authorize`` with PKCE; ``POST login/oauth/access_token`` (Accept:
  JSON; errors are HTTP 200 ``{"error": "bad_verification_code"}``); ``GET /user`` → ``id``,
  ``login``, ``name``; ``GET /user/orgs`` (scope ``read:org``) only when the roles file names
  an organisation of this provider.
- **Weibo**: ``oauth2/authorize``; ``POST oauth2/access_token`` → ``access_token``, ``uid``;
  ``GET 2/users/show.json`` → ``screen_name``. Errors: ``{"error", "error_code": 21325, ...}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

MAX_GROUPS = 200


class Failure(Exception):
    def __init__(self, kind: str, code: Any = "") -> None:
        super().__init__(f"{kind} {code}")
        self.kind = kind
        self.code = str(code)[:80]


@dataclass
class Who:
    subjects: list[str]  # the first is the person's id
    name: str
    groups: list[str] = field(default_factory=list)


@dataclass
class Ask:
    """One sign-in's callback, for :meth:`Api.identify`."""

    provider: Any  # SigninProvider
    secret: str
    code: str
    redirect_uri: str
    verifier: str
    groups: bool  # the roles file names groups of this provider


class Http:
    """JSON over HTTPS with a timeout, no proxy from the environment, no redirect followed;
    every token it receives is learnt (kept out of the log)."""

    def __init__(self, timeout: float, learn: Callable[..., None]) -> None:
        self.timeout = timeout
        self.learn = learn
        self.session = requests.Session()
        self.session.trust_env = False

    def call(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            answer = self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
            body = answer.json()
        except (requests.RequestException, ValueError):
            raise Failure("unreachable") from None
        return answer.status_code, body if isinstance(body, dict | list) else {}


def _q(base: str, path: str, params: Mapping[str, str]) -> str:
    return f"{base}{path}?{urlencode({k: v for k, v in params.items() if v})}"


class Api:
    pkce = False

    def authorize_url(self, p: Any, redirect_uri: str, state: str, challenge: str, groups: bool):
        raise NotImplementedError

    def code_of(self, params: Mapping[str, str]) -> str:
        return params.get("code", "")

    def refused(self, params: Mapping[str, str]) -> Failure | None:
        """The callback's own error (the person said no; the app is suspended)."""
        error = params.get("error")
        if not error:
            return None
        return Failure("denied" if error == "access_denied" else "other", error)

    def identify(self, http: Http, ask: Ask) -> Who:
        raise NotImplementedError


def _kind(code: Any, table: Mapping[str, tuple[Any, ...]]) -> str:
    return next((kind for kind, codes in table.items() if code in codes), "other")


class WeCom(Api):
    KINDS = {"code": (40029,), "client": (40001, 40013, 40056, 40091),
             "not_allowed": (50001, 60011, 60020, 48002, 301002)}  # fmt: skip

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, tuple[str, float]] = {}  # corp token by provider, until

    def authorize_url(self, p, redirect_uri, state, challenge, groups):
        return _q(p.base("login_base"), "/wwlogin/sso/login",
                  {"login_type": p.option("login_type", "CorpApp"), "appid": p.client_id,
                   "agentid": p.option("agent_id"), "redirect_uri": redirect_uri,
                   "state": state})  # fmt: skip

    def _check(self, body: Any) -> Any:
        code = body.get("errcode", 0) if isinstance(body, dict) else "?"
        if code != 0:
            raise Failure(_kind(code, self.KINDS), code)
        return body

    def _token(self, http: Http, ask: Ask, fresh: bool) -> str:
        p = ask.provider
        with self.lock:
            token, until = self.tokens.get(p.name, ("", 0.0))
            if token and not fresh and until > time.time():
                return token
            _, body = http.call("GET", f"{p.base('api_base')}/cgi-bin/gettoken",
                                params={"corpid": p.client_id, "corpsecret": ask.secret})  # fmt: skip
            token = str(self._check(body).get("access_token") or "")
            http.learn(token)
            expires = float(body.get("expires_in") or 7200)
            self.tokens[p.name] = (token, time.time() + max(60.0, expires - 300))
            return token

    def _get(self, http: Http, ask: Ask, path: str, **params: str) -> Any:
        for fresh in (False, True):
            token = self._token(http, ask, fresh)
            _, body = http.call("GET", f"{ask.provider.base('api_base')}/cgi-bin/{path}",
                                params={"access_token": token, **params})  # fmt: skip
            if not fresh and isinstance(body, dict) and body.get("errcode") in (40014, 42001):
                continue  # the corp token expired early (reset secret, another process)
            return self._check(body)
        raise AssertionError("unreachable")  # pragma: no cover

    def identify(self, http, ask):
        who = self._get(http, ask, "auth/getuserinfo", code=ask.code)
        userid = str(who.get("userid") or "")
        if not userid:  # an openid: someone outside the company
            raise Failure("not_allowed", "not a member")
        user = self._get(http, ask, "user/get", userid=userid)
        departments = [str(d) for d in user.get("department") or [] if isinstance(d, int | str)]
        return Who([userid], str(user.get("name") or userid), departments)


class DingTalk(Api):
    def authorize_url(self, p, redirect_uri, state, challenge, groups):
        return _q(p.base("login_base"), "/oauth2/auth",
                  {"redirect_uri": redirect_uri, "response_type": "code",
                   "client_id": p.client_id, "scope": p.scope or "openid", "state": state,
                   "prompt": "consent"})  # fmt: skip

    def code_of(self, params):
        return params.get("authCode") or params.get("code") or ""

    @staticmethod
    def _check(status: int, body: Any) -> Any:
        code = body.get("code") if isinstance(body, dict) else None
        if status == 200 and not code:
            return body
        text = str(code or f"HTTP {status}")
        low = text.lower()
        kind = ("code" if "authcode" in low else "client" if "client" in low or "secret" in low
                else "not_allowed" if "forbidden" in low or "accessdenied" in low else "other")  # fmt: skip
        raise Failure(kind, text)

    def identify(self, http, ask):
        p, base = ask.provider, ask.provider.base("api_base")
        body = self._check(*http.call("POST", f"{base}/v1.0/oauth2/userAccessToken",
                                      json={"clientId": p.client_id, "clientSecret": ask.secret,
                                            "code": ask.code,
                                            "grantType": "authorization_code"}))  # fmt: skip
        token = str(body.get("accessToken") or "")
        http.learn(token, body.get("refreshToken"))
        me = self._check(*http.call("GET", f"{base}/v1.0/contact/users/me",
                                    headers={"x-acs-dingtalk-access-token": token}))  # fmt: skip
        subjects = [str(me[k]) for k in ("unionId", "openId") if me.get(k)]
        corp = [str(body["corpId"])] if body.get("corpId") else []
        return Who(subjects, str(me.get("nick") or ""), corp)


class Feishu(Api):
    pkce = True
    KINDS = {"code": (20003, 20004, 20024), "client": (20002, 20014, 20029),
             "not_allowed": (20010, 20027)}  # fmt: skip

    def authorize_url(self, p, redirect_uri, state, challenge, groups):
        return _q(p.base("accounts_base"), "/open-apis/authen/v1/authorize",
                  {"client_id": p.client_id, "redirect_uri": redirect_uri, "scope": p.scope,
                   "state": state, "code_challenge": challenge,
                   "code_challenge_method": "S256"})  # fmt: skip

    def _check(self, status: int, body: Any) -> Any:
        code = body.get("code", 0) if isinstance(body, dict) else "?"
        if code != 0 or status != 200:
            raise Failure(_kind(code, self.KINDS), code or f"HTTP {status}")
        return body

    def identify(self, http, ask):
        p, base = ask.provider, ask.provider.base("open_base")
        body = self._check(*http.call("POST", f"{base}/open-apis/authen/v2/oauth/token",
                                      json={"grant_type": "authorization_code",
                                            "client_id": p.client_id,
                                            "client_secret": ask.secret, "code": ask.code,
                                            "redirect_uri": ask.redirect_uri,
                                            "code_verifier": ask.verifier}))  # fmt: skip
        token = str(body.get("access_token") or "")
        http.learn(token, body.get("refresh_token"))
        info = self._check(*http.call("GET", f"{base}/open-apis/authen/v1/user_info",
                                      headers={"Authorization": f"Bearer {token}"}))  # fmt: skip
        data = info.get("data") or {}
        subjects = [str(data[k]) for k in ("union_id", "open_id", "user_id") if data.get(k)]
        tenant = [str(data["tenant_key"])] if data.get("tenant_key") else []
        return Who(subjects, str(data.get("name") or data.get("en_name") or ""), tenant)


class GitHub(Api):
    pkce = True
    KINDS = {"code": ("bad_verification_code",), "client": ("incorrect_client_credentials",),
             "not_allowed": ("unverified_user_email", "application_suspended")}  # fmt: skip

    def authorize_url(self, p, redirect_uri, state, challenge, groups):
        scope = p.scope if not groups or "read:org" in p.scope else f"{p.scope} read:org"
        return _q(p.base("web_base"), "/login/oauth/authorize",
                  {"client_id": p.client_id, "redirect_uri": redirect_uri, "scope": scope.strip(),
                   "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
                   "allow_signup": "false"})  # fmt: skip

    def refused(self, params):
        error = params.get("error")
        if error and error != "access_denied":
            return Failure(_kind(error, self.KINDS), error)
        return super().refused(params)

    def _api(self, http: Http, url: str, token: str) -> Any:
        status, body = http.call("GET", url, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28"})  # fmt: skip
        if status != 200:
            raise Failure("other", f"HTTP {status}")
        return body

    def identify(self, http, ask):
        p = ask.provider
        _, body = http.call("POST", f"{p.base('web_base')}/login/oauth/access_token",
                            headers={"Accept": "application/json"},
                            data={"client_id": p.client_id, "client_secret": ask.secret,
                                  "code": ask.code, "redirect_uri": ask.redirect_uri,
                                  "code_verifier": ask.verifier})  # fmt: skip
        if not isinstance(body, dict) or body.get("error") or not body.get("access_token"):
            error = body.get("error", "?") if isinstance(body, dict) else "?"
            raise Failure(_kind(error, self.KINDS), error)
        token = str(body["access_token"])
        http.learn(token, body.get("refresh_token"))
        user = self._api(http, f"{p.base('api_base')}/user", token)
        if not isinstance(user, dict) or user.get("id") in (None, ""):
            return Who([], "")
        orgs: list[str] = []
        if ask.groups:
            found = self._api(http, f"{p.base('api_base')}/user/orgs?per_page=100", token)
            orgs = [str(o["login"]) for o in found if isinstance(o, dict) and o.get("login")]
        return Who([str(user["id"])], str(user.get("name") or user.get("login") or ""), orgs)


class Weibo(Api):
    KINDS = {"code": (21325, 21327), "client": (21324,), "denied": (21330,),
             "not_allowed": (21321, 21326, 21337)}  # fmt: skip

    def authorize_url(self, p, redirect_uri, state, challenge, groups):
        return _q(p.base("api_base"), "/oauth2/authorize",
                  {"client_id": p.client_id, "redirect_uri": redirect_uri,
                   "response_type": "code", "state": state, "scope": p.scope})  # fmt: skip

    def refused(self, params):
        error, number = params.get("error", ""), params.get("error_code", "")
        if not error and not number:
            return None
        if error == "access_denied" or number == "21330":
            return Failure("denied", number or error)
        found = int(number) if number.isdigit() else error
        return Failure(_kind(found, self.KINDS), number or error)

    def _check(self, body: Any) -> Any:
        if not isinstance(body, dict) or body.get("error_code") or body.get("error"):
            code = body.get("error_code") or body.get("error") if isinstance(body, dict) else "?"
            raise Failure(_kind(code, self.KINDS), code)
        return body

    def identify(self, http, ask):
        p, base = ask.provider, ask.provider.base("api_base")
        _, body = http.call("POST", f"{base}/oauth2/access_token",
                            data={"client_id": p.client_id, "client_secret": ask.secret,
                                  "grant_type": "authorization_code", "code": ask.code,
                                  "redirect_uri": ask.redirect_uri})  # fmt: skip
        token = str(self._check(body).get("access_token") or "")
        http.learn(token)
        uid = str(body.get("uid") or "")
        _, user = http.call("GET", f"{base}/2/users/show.json",
                            params={"access_token": token, "uid": uid})  # fmt: skip
        user = self._check(user)
        return Who([uid] if uid else [], str(user.get("screen_name") or ""))


def apis() -> dict[str, Api]:
    """One of each, per :class:`~.preset_signin.PresetSignin` (WeCom keeps its corp token)."""
    feishu = Feishu()
    return {"wecom": WeCom(), "dingtalk": DingTalk(), "feishu": feishu, "lark": feishu,
            "github": GitHub(), "weibo": Weibo()}  # fmt: skip
