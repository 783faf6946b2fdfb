"""The sign-in presets' providers on 127.0.0.1, one server answering as each documents itself
(paths as on the real hosts, so one base URL stands for all of a provider's hosts):

- **WeCom**: ``GET /wwlogin/sso/login`` (``login_type``, ``appid`` = CorpID, ``agentid``,
  ``redirect_uri``, ``state``); ``GET /cgi-bin/gettoken`` (40013 bad corpid, 40001 bad secret),
  ``/cgi-bin/auth/getuserinfo`` (40029 invalid, used or 5-minute-old code; 40014 / 42001 token),
  ``/cgi-bin/user/get`` (60011 outside the app's visible range); HTTP 200 with ``errcode``;
- **DingTalk**: ``GET /oauth2/auth`` → ``?authCode=&state=``; ``POST /v1.0/oauth2/userAccessToken``
  (camelCase JSON; HTTP 400 ``{"code": "invalidParameter.authCode.notFound"}``),
  ``GET /v1.0/contact/users/me`` (``x-acs-dingtalk-access-token``; 403
  ``Forbidden.AccessDenied.AccessTokenPermissionDenied`` when the app may not read it);
- **Feishu / Lark**: ``GET /open-apis/authen/v1/authorize`` (PKCE S256 required),
  ``POST /open-apis/authen/v2/oauth/token`` (20002 secret, 20003 code, 20004 expired, 20010 the
  person may not use the app), ``GET /open-apis/authen/v1/user_info``;
- **GitHub**: ``GET /login/oauth/authorize`` (PKCE; ``error=application_suspended`` when the
  app is suspended), ``POST /login/oauth/access_token`` (JSON only with ``Accept``; HTTP 200
  ``{"error": "bad_verification_code"}``, ``incorrect_client_credentials``), ``GET /user``,
  ``GET /user/orgs`` (only with the ``read:org`` scope);
- **Weibo**: ``GET /oauth2/authorize`` (denied: ``error=access_denied&error_code=21330``),
  ``POST /oauth2/access_token`` (21324 client, 21325 code), ``GET /2/users/show.json`` (21321:
  an unaudited app used by someone not among its testers).

Each authorization page asks the person (``允许 Allow`` / ``拒绝 Deny``) unless
``auto_confirm``. Codes are single-use and expire after 5 minutes (GitHub: 10); ``allowed =
False`` is "the app may not sign this person in", in each provider's words.

    python -m tests.oauth_servers.presets [--port 0] [--auto-confirm]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from tests.oauth_servers.running import Clock, ServerThread, main

CLIENT_ID, SECRET, AGENT_ID = "preset-client-0123", "preset-app-secret-0123456789", "1000002"
CALLBACK_HOSTS = ("127.0.0.1", "testserver", "localhost")
# the one person who signs in, as each provider knows them
WECOM_USER = {"userid": "zhangsan", "name": "张三", "department": [1, 3]}
DINGTALK_USER = {"unionId": "dtUnion0123456789", "openId": "dtOpen0123", "nick": "张三"}
DINGTALK_CORP = "ding0123456789corp"
FEISHU_USER = {"name": "张三", "en_name": "Zhang San", "open_id": "ou_0123456789",
               "union_id": "on_0123456789", "tenant_key": "tenant-736588c9260f175d"}  # fmt: skip
GITHUB_USER = {"id": 1001, "login": "zhang", "name": "Zhang San"}
GITHUB_ORGS = [{"login": "acme", "id": 5001}]
WEIBO_USER = {"id": 5551234567, "idstr": "5551234567", "screen_name": "张三的微博"}
CODE_TTL = {"github": 600.0}
PAGES = {  # provider -> (authorization path, the client id's parameter)
    "wecom": ("/wwlogin/sso/login", "appid"),
    "dingtalk": ("/oauth2/auth", "client_id"),
    "feishu": ("/open-apis/authen/v1/authorize", "client_id"),
    "github": ("/login/oauth/authorize", "client_id"),
    "weibo": ("/oauth2/authorize", "client_id"),
}
PKCE = ("feishu", "github")


@dataclass
class Grant:
    provider: str
    created: float
    redirect_uri: str
    scope: str
    challenge: str = ""
    used: bool = False


@dataclass
class Providers:
    clock: Clock
    auto_confirm: bool = False
    allowed: bool = True  # the app may sign the person in
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float, str]] = field(
        default_factory=dict
    )  # provider, until, scope
    state: dict[str, Any] = field(default_factory=lambda: {"exchanges": 0, "errors": []})

    def grant(self, provider: str, q: Any) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(provider, self.clock(), q.get("redirect_uri", ""),
                                 q.get("scope", ""), q.get("code_challenge", ""))  # fmt: skip
        return code

    def take(self, provider: str, code: str, verifier: str = "") -> Grant | str:
        """The code's grant, used up; or why not: ``unknown``, ``used``, ``expired``, ``pkce``."""
        grant = self.codes.get(code)
        if grant is None or grant.provider != provider:
            return "unknown"
        if grant.used:
            return "used"
        if self.clock() - grant.created > CODE_TTL.get(provider, 300.0):
            return "expired"
        if grant.challenge:
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return "pkce"
        grant.used = True
        self.state["exchanges"] += 1
        return grant

    def token(self, provider: str, scope: str = "") -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (provider, self.clock() + 7200, scope)
        return token

    def valid(self, provider: str, token: str) -> str | None:
        """The token's scope; None when unknown or expired."""
        found = self.tokens.get(token)
        if found is None or found[0] != provider or self.clock() >= found[1]:
            return None
        return found[2]

    def error(self, code: Any, body: dict[str, Any], status: int = 200) -> web.Response:
        self.state["errors"].append(code)
        return web.json_response(body, status=status, dumps=_dumps)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


P = web.AppKey("providers", Providers)


def _page(title: str, body: str) -> web.Response:
    text = f"<!doctype html><meta charset=utf-8><title>{title}</title>{body}"
    return web.Response(text=text, content_type="text/html")


def _problem(provider: str, q: Any) -> str | None:
    if q.get(PAGES[provider][1]) != CLIENT_ID:
        return "unknown app (client id)"
    if provider == "wecom" and q.get("agentid") != AGENT_ID:
        return "unknown agentid"
    if urlsplit(q.get("redirect_uri", "")).hostname not in CALLBACK_HOSTS:
        return "redirect_uri is not on the app's callback domain"
    if not q.get("state"):
        return "state missing"
    if provider in PKCE and (
        q.get("code_challenge_method") != "S256" or not q.get("code_challenge")
    ):
        return "PKCE (S256) required"
    if provider in ("dingtalk", "weibo") and q.get("response_type") != "code":
        return "response_type must be code"
    return None


def _back(q: Any, params: dict[str, str]) -> web.HTTPFound:
    sep = "&" if "?" in q["redirect_uri"] else "?"
    return web.HTTPFound(q["redirect_uri"] + sep + urlencode(params))


def _answer(providers: Providers, provider: str, q: Any, confirmed: bool) -> web.StreamResponse:
    state = q.get("state", "")
    if provider == "github" and not providers.allowed:
        raise _back(q, {"error": "application_suspended", "state": state,
                        "error_description": "Your application has been suspended."})  # fmt: skip
    if not confirmed:
        denied = {"github": {"error": "access_denied"}, "feishu": {"error": "access_denied"},
                  "weibo": {"error": "access_denied", "error_code": "21330"}}  # fmt: skip
        raise _back(q, {**denied.get(provider, {}), "state": state})
    code = providers.grant(provider, q)
    if provider == "dingtalk":
        raise _back(q, {"authCode": code, "code": code, "state": state})
    if provider == "wecom":
        raise _back(q, {"code": code, "state": state, "appid": CLIENT_ID})
    raise _back(q, {"code": code, "state": state})


def authorize_page(provider: str) -> Any:
    async def page(request: web.Request) -> web.StreamResponse:
        providers, q = request.app[P], request.query
        problem = _problem(provider, q)
        if problem:
            return _page("Error", f"<p class=error>{html.escape(problem)}</p>")
        if providers.auto_confirm:
            return _answer(providers, provider, q, True)
        fields = {**q, "provider": provider}
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in fields.items())  # fmt: skip
        return _page(provider, f"<h1>{provider}: 授权登录 Sign in</h1>"
                     f'<form method="post" action="/presets/confirm" target="_top">{hidden}'
                     '<button name="confirm" value="yes">允许 Allow</button>'
                     '<button name="confirm" value="no">拒绝 Deny</button></form>')  # fmt: skip

    return page


async def confirm(request: web.Request) -> web.StreamResponse:
    form = {k: str(v) for k, v in (await request.post()).items()}
    provider = form.pop("provider", "")
    if provider not in PAGES or _problem(provider, form):
        return _page("Error", "<p class=error>bad confirmation</p>")
    return _answer(request.app[P], provider, form, form.pop("confirm", "") == "yes")


# -- WeCom ---------------------------------------------------------------------------------------


async def wecom_gettoken(request: web.Request) -> web.Response:
    providers, q = request.app[P], request.query
    if q.get("corpid") != CLIENT_ID:
        return providers.error(40013, {"errcode": 40013, "errmsg": "invalid corpid"})
    if not secrets.compare_digest(q.get("corpsecret", ""), SECRET):
        return providers.error(40001, {"errcode": 40001, "errmsg": "invalid credential"})
    return web.json_response({"errcode": 0, "errmsg": "ok", "access_token":
                              providers.token("wecom"), "expires_in": 7200})  # fmt: skip


def _wecom_token(providers: Providers, q: Any) -> web.Response | None:
    token = q.get("access_token", "")
    if token not in providers.tokens:
        return providers.error(40014, {"errcode": 40014, "errmsg": "invalid access_token"})
    if providers.valid("wecom", token) is None:
        return providers.error(42001, {"errcode": 42001, "errmsg": "access_token expired"})
    return None


async def wecom_getuserinfo(request: web.Request) -> web.Response:
    providers, q = request.app[P], request.query
    problem = _wecom_token(providers, q)
    if problem:
        return problem
    if not isinstance(providers.take("wecom", q.get("code", "")), Grant):
        return providers.error(40029, {"errcode": 40029, "errmsg": "invalid code"})
    return web.json_response({"errcode": 0, "errmsg": "ok", "userid": WECOM_USER["userid"]})


async def wecom_user(request: web.Request) -> web.Response:
    providers, q = request.app[P], request.query
    problem = _wecom_token(providers, q)
    if problem:
        return problem
    if not providers.allowed:
        return providers.error(60011, {"errcode": 60011,
                                       "errmsg": "no privilege to access/modify contact"})  # fmt: skip
    if q.get("userid") != WECOM_USER["userid"]:
        return providers.error(60111, {"errcode": 60111, "errmsg": "userid not found"})
    return web.json_response({"errcode": 0, "errmsg": "ok", **WECOM_USER}, dumps=_dumps)


# -- DingTalk ------------------------------------------------------------------------------------


def _ding_error(providers: Providers, code: str, message: str, status: int) -> web.Response:
    body = {"requestid": secrets.token_hex(8), "code": code, "message": message}
    return providers.error(code, body, status)


async def dingtalk_token(request: web.Request) -> web.Response:
    providers, body = request.app[P], await request.json()
    if body.get("clientId") != CLIENT_ID or body.get("clientSecret") != SECRET:
        return _ding_error(
            providers, "invalidClientIdOrSecret", "无效的clientId或clientSecret", 400
        )
    grant = providers.take("dingtalk", str(body.get("code", "")))
    if body.get("grantType") != "authorization_code" or not isinstance(grant, Grant):
        return _ding_error(
            providers, "invalidParameter.authCode.notFound", "不合法的临时授权码", 400
        )
    answer = {"accessToken": providers.token("dingtalk"), "refreshToken": secrets.token_hex(16),
              "expireIn": 7200}  # fmt: skip
    if "corpid" in grant.scope.split():
        answer["corpId"] = DINGTALK_CORP
    return web.json_response(answer)


async def dingtalk_me(request: web.Request) -> web.Response:
    providers = request.app[P]
    if providers.valid("dingtalk", request.headers.get("x-acs-dingtalk-access-token", "")) is None:
        return _ding_error(providers, "InvalidAuthentication", "不合法的access_token", 401)
    if not providers.allowed:
        return _ding_error(providers, "Forbidden.AccessDenied.AccessTokenPermissionDenied",
                           "没有调用该接口的权限", 403)  # fmt: skip
    return web.json_response({**DINGTALK_USER, "avatarUrl": "", "stateCode": "86"}, dumps=_dumps)


# -- Feishu / Lark -------------------------------------------------------------------------------


async def feishu_token(request: web.Request) -> web.Response:
    providers, body = request.app[P], await request.json()

    def fail(code: int, error: str) -> web.Response:
        return providers.error(code, {"code": code, "error": error,
                                      "error_description": f"{error} ({code})"}, 400)  # fmt: skip

    if body.get("client_id") != CLIENT_ID or body.get("client_secret") != SECRET:
        return fail(20002, "invalid_client")
    found = providers.take("feishu", str(body.get("code", "")), str(body.get("code_verifier", "")))
    if found == "expired":
        return fail(20004, "invalid_grant")
    if not isinstance(found, Grant) or found.redirect_uri != body.get("redirect_uri"):
        return fail(20003, "invalid_grant")
    if not providers.allowed:
        return fail(20010, "invalid_grant")
    return web.json_response({"code": 0, "access_token": providers.token("feishu"),
                              "expires_in": 7200, "token_type": "Bearer", "scope": ""})  # fmt: skip


async def feishu_user(request: web.Request) -> web.Response:
    providers = request.app[P]
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if providers.valid("feishu", token) is None:
        return providers.error(99991663, {"code": 99991663, "msg": "Invalid access token"}, 401)
    return web.json_response({"code": 0, "msg": "success", "data": FEISHU_USER}, dumps=_dumps)


# -- GitHub --------------------------------------------------------------------------------------


async def github_token(request: web.Request) -> web.Response:
    providers, form = request.app[P], await request.post()
    if request.headers.get("Accept") != "application/json":
        return web.Response(text="error=not_json", content_type="application/x-www-form-urlencoded")
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != SECRET:
        return providers.error("incorrect_client_credentials",
                               {"error": "incorrect_client_credentials"})  # fmt: skip
    found = providers.take("github", str(form.get("code", "")), str(form.get("code_verifier", "")))
    if not isinstance(found, Grant) or found.redirect_uri != form.get("redirect_uri"):
        return providers.error("bad_verification_code", {"error": "bad_verification_code",
                               "error_description": "The code passed is incorrect or expired."})  # fmt: skip
    return web.json_response({"access_token": providers.token("github", found.scope),
                              "token_type": "bearer", "scope": found.scope})  # fmt: skip


async def github_api(request: web.Request) -> web.Response:
    providers = request.app[P]
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    scope = providers.valid("github", token)
    if scope is None:
        return web.json_response({"message": "Bad credentials"}, status=401)
    if request.path == "/user/orgs":
        return web.json_response(GITHUB_ORGS if "read:org" in scope.split() else [])
    return web.json_response(GITHUB_USER)


# -- Weibo ---------------------------------------------------------------------------------------


def _weibo_error(providers: Providers, code: int, error: str, path: str) -> web.Response:
    body = {"error": error, "error_code": code, "request": path}
    return providers.error(code, body, 400 if path.startswith("/oauth2") else 403)


async def weibo_token(request: web.Request) -> web.Response:
    providers, form = request.app[P], await request.post()
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != SECRET:
        return _weibo_error(providers, 21324, "invalid_client", request.path)
    found = providers.take("weibo", str(form.get("code", "")))
    if not isinstance(found, Grant) or form.get("grant_type") != "authorization_code":
        return _weibo_error(providers, 21325, "invalid_grant", request.path)
    return web.json_response({"access_token": providers.token("weibo"), "expires_in": 157679999,
                              "remind_in": "157679999", "uid": WEIBO_USER["idstr"]})  # fmt: skip


async def weibo_show(request: web.Request) -> web.Response:
    providers, q = request.app[P], request.query
    if providers.valid("weibo", q.get("access_token", "")) is None:
        return _weibo_error(providers, 21332, "invalid_access_token", request.path)
    if not providers.allowed:
        return _weibo_error(providers, 21321, "applications over the unaudited use restrictions!",
                            request.path)  # fmt: skip
    return web.json_response(WEIBO_USER, dumps=_dumps)


def create_app(*, clock: Clock | None = None, auto_confirm: bool = False) -> web.Application:
    app = web.Application()
    app[P] = Providers(clock or Clock(), auto_confirm=auto_confirm)
    for provider, (path, _) in PAGES.items():
        app.router.add_get(path, authorize_page(provider))
    app.router.add_post("/presets/confirm", confirm)
    app.router.add_get("/cgi-bin/gettoken", wecom_gettoken)
    app.router.add_get("/cgi-bin/auth/getuserinfo", wecom_getuserinfo)
    app.router.add_get("/cgi-bin/user/get", wecom_user)
    app.router.add_post("/v1.0/oauth2/userAccessToken", dingtalk_token)
    app.router.add_get("/v1.0/contact/users/me", dingtalk_me)
    app.router.add_post("/open-apis/authen/v2/oauth/token", feishu_token)
    app.router.add_get("/open-apis/authen/v1/user_info", feishu_user)
    app.router.add_post("/login/oauth/access_token", github_token)
    app.router.add_get("/user", github_api)
    app.router.add_get("/user/orgs", github_api)
    app.router.add_post("/oauth2/access_token", weibo_token)
    app.router.add_get("/2/users/show.json", weibo_show)
    return app


class PresetServer(ServerThread):
    """``with PresetServer() as s: s.url, s.providers.state``."""

    def __init__(self, **kwargs: Any) -> None:
        self.clock = kwargs.setdefault("clock", Clock())
        super().__init__(create_app(**kwargs))
        self.providers = self.app[P]


def _build(args: argparse.Namespace) -> web.Application:
    return create_app(auto_confirm=args.auto_confirm)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.oauth_servers.presets")
    parser.add_argument("--auto-confirm", action="store_true")
    main(_build, parser)
