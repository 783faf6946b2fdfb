"""A WeChat-dialect server on 127.0.0.1 that behaves as WeChat documents its web authorization:

- ``GET /connect/qrconnect`` (website QR-code login, ``scope=snsapi_login``) and
  ``GET /connect/oauth2/authorize`` (inside the WeChat browser: ``snsapi_base`` redirects at
  once, ``snsapi_userinfo`` shows a confirm page); both check ``appid``, that ``redirect_uri``
  is on the app's callback domain, ``response_type=code`` and ``state`` (letters and digits, at
  most 128 bytes), then send the person to ``redirect_uri?code=...&state=...``;
- ``GET /connect/qrconnect?...&login_type=jssdk`` (WeChat's ``WxLogin``: the QR code in a frame
  of the site's page, with ``style`` and ``href``; recorded in ``state["frames"]``): a page whose
  "scanned" link sends the top window on (``self_redirect=default``);
- ``GET /sns/oauth2/access_token``: codes are single-use (40163) and expire after 5 minutes
  (40029); a wrong secret is 40001; tokens last ``access_ttl`` seconds (7200);
- ``GET /sns/oauth2/refresh_token`` (40030 for an unknown or 30-day-old refresh token),
  ``GET /sns/auth``, ``GET /sns/userinfo`` (``lang`` zh_CN, zh_TW or en; 40003 bad openid,
  42001 expired token);
- ``GET /api/items?access_token=...&page=N``: a protected API for crawls, answering items, or
  ``{"errcode": 42001}`` (HTTP 200) once the token has expired;
- ``GET /api/moved?...``: a page that moved to ``WeChat.moved_to`` (another host), the way a
  careless server says it: the whole query string (``access_token`` and ``openid`` included)
  copied into the ``Location``.

Every error is HTTP 200 ``{"errcode": N, "errmsg": "..."}``. The clock is injectable;
``WeChatServer.state`` counts exchanges and refreshes.

    python -m tests.oauth_servers.wechat [--port 0] [--appid wx.. --secret ..] [--auto-confirm]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from tests.oauth_servers.running import Clock, ServerThread, main
from tests.oauth_servers.standard import items_page

CODE_TTL = 300.0
REFRESH_TTL = 30 * 86400.0
ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40029: "invalid code",
    40030: "invalid refresh_token",
    40163: "code been used",
    42001: "access_token expired",
    48001: "api unauthorized",
}
STATE = re.compile(r"^[A-Za-z0-9]{0,128}$")
PEOPLE = {
    "wang": {"nickname": "小王", "sex": 1, "province": ("广东", "廣東", "Guangdong"),
             "city": ("广州", "廣州", "Guangzhou"), "country": ("中国", "中國", "China")},
}  # fmt: skip
LANGS = {"zh_CN": 0, "zh_TW": 1, "en": 2}


@dataclass
class App:
    appid: str
    secret: str
    callback_domain: str = "127.0.0.1"
    unionid_bound: bool = True


@dataclass
class Grant:
    appid: str
    person: str
    scope: str
    created: float
    used: bool = False


@dataclass
class Tokens:
    appid: str
    person: str
    scope: str
    access: dict[str, float] = field(default_factory=dict)  # access token -> expiry


class WeChat:
    def __init__(self, apps: list[App], *, clock: Clock, access_ttl: float, person: str) -> None:
        self.apps = {a.appid: a for a in apps}
        self.clock = clock
        self.access_ttl = access_ttl
        self.person = person  # who scans the QR code / confirms
        self.codes: dict[str, Grant] = {}
        self.refresh: dict[str, tuple[Tokens, float]] = {}  # refresh token -> (tokens, issued)
        self.access: dict[str, Tokens] = {}
        self.expire_after_uses = 0
        self.moved_to = ""  # where /api/moved sends the caller (a base URL)
        self.uses: dict[str, int] = {}
        self.state = {"exchanges": 0, "refreshes": 0, "api_requests": 0, "api_rejected": 0,
                      "moved": 0, "errors": [], "frames": []}  # fmt: skip

    def openid(self, appid: str, person: str) -> str:
        return "o" + hashlib.sha256(f"{appid}/{person}".encode()).hexdigest()[:27]

    def unionid(self, person: str) -> str:
        return "u" + hashlib.sha256(f"company/{person}".encode()).hexdigest()[:27]

    def error(self, code: int) -> web.Response:
        self.state["errors"].append(code)
        return web.json_response({"errcode": code, "errmsg": ERRMSG[code]})

    def issue(self, tokens: Tokens) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        tokens.access[access] = self.clock() + self.access_ttl
        self.access[access] = tokens
        return {"access_token": access, "expires_in": int(self.access_ttl),
                "openid": self.openid(tokens.appid, tokens.person), "scope": tokens.scope}  # fmt: skip

    def valid_access(self, token: str) -> Tokens | None | bool:
        """The tokens it belongs to; False once expired; None when unknown."""
        tokens = self.access.get(token)
        if tokens is None:
            return None
        if self.clock() >= tokens.access[token]:
            return False
        return tokens


WECHAT = web.AppKey("wechat", WeChat)
AUTO = web.AppKey("auto_confirm", bool)
LATENCY = web.AppKey("latency", float)


def _authorize_problem(wechat: WeChat, q: Any, scopes: tuple[str, ...]) -> str | None:
    app = wechat.apps.get(q.get("appid", ""))
    if app is None:
        return "appid 参数错误 (unknown appid)"
    redirect = q.get("redirect_uri", "")
    if urlsplit(redirect).hostname != app.callback_domain:
        return "redirect_uri 参数错误 (not on the app's callback domain)"
    if q.get("response_type") != "code":
        return "response_type 参数错误"
    if q.get("scope") not in scopes:
        return "scope 参数错误或没有 scope 权限"
    if not STATE.match(q.get("state", "")):
        return "state 参数错误 (letters and digits, at most 128 bytes)"
    return None


def _redirect(wechat: WeChat, q: Any) -> web.Response:
    code = secrets.token_urlsafe(24)
    wechat.codes[code] = Grant(q["appid"], wechat.person, q["scope"], wechat.clock())
    sep = "&" if "?" in q["redirect_uri"] else "?"
    target = q["redirect_uri"] + sep + urlencode({"code": code, "state": q.get("state", "")})
    raise web.HTTPFound(target)


def _page(title: str, body: str) -> web.Response:
    return web.Response(
        text=f"<!doctype html><meta charset=utf-8><title>{title}</title>{body}",
        content_type="text/html",
    )


def _confirm_form(q: Any, action: str, text: str) -> web.Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in q.items()
    )
    return _page(text, f'<h1>{text}</h1><form method="post" action="{action}">{hidden}'
                       '<button name="confirm" value="yes">允许 Allow</button></form>')  # fmt: skip


async def qrconnect(request: web.Request) -> web.Response:
    wechat, q = request.app[WECHAT], request.query
    if q.get("login_type") == "jssdk":  # the QR code in a frame of the site's page (WxLogin)
        q = request.query.copy()
        q.setdefault("response_type", "code")
    problem = _authorize_problem(wechat, q, ("snsapi_login",))
    if problem:
        return _page("Error", f"<p class=error>{html.escape(problem)}</p>")
    if q.get("login_type") == "jssdk":
        wechat.state["frames"].append(dict(request.query))
        confirmed = html.escape(f"/connect/confirm?{urlencode({**q, 'confirm': 'yes'})}")
        return _page("WeChat", '<p class="qr">[QR]</p><p>微信扫码登录 Scan with WeChat</p>'
                     f'<a id="scanned" target="_top" href="{confirmed}">允许 Allow</a>')  # fmt: skip
    if request.app[AUTO]:
        return _redirect(wechat, q)
    return _confirm_form(q, "/connect/confirm", "微信扫码登录 Scan with WeChat")


async def oauth2_authorize(request: web.Request) -> web.Response:
    wechat, q = request.app[WECHAT], request.query
    problem = _authorize_problem(wechat, q, ("snsapi_base", "snsapi_userinfo"))
    if problem:
        return _page("Error", f"<p class=error>{html.escape(problem)}</p>")
    if q["scope"] == "snsapi_base" or request.app[AUTO]:
        return _redirect(wechat, q)
    return _confirm_form(q, "/connect/confirm", "授权登录 Allow access to your public profile")


async def confirm(request: web.Request) -> web.Response:
    wechat = request.app[WECHAT]
    if request.method == "GET":  # scanned on the phone, from a QR code in a frame: the top window
        form = dict(request.query)
    else:
        form = {k: str(v) for k, v in (await request.post()).items()}
    scopes = ("snsapi_login", "snsapi_userinfo")
    problem = _authorize_problem(wechat, form, scopes)
    if problem or form.get("confirm") != "yes":
        return _page("Error", f"<p class=error>{html.escape(problem or 'not confirmed')}</p>")
    return _redirect(wechat, form)


def _app_checked(wechat: WeChat, q: Any) -> App | int:
    app = wechat.apps.get(q.get("appid", ""))
    if app is None or not secrets.compare_digest(q.get("secret", ""), app.secret):
        return 40001
    return app


async def access_token(request: web.Request) -> web.Response:
    wechat, q = request.app[WECHAT], request.query
    app = _app_checked(wechat, q)
    if isinstance(app, int):
        return wechat.error(app)
    grant = wechat.codes.get(q.get("code", ""))
    if grant is None or grant.appid != app.appid or q.get("grant_type") != "authorization_code":
        return wechat.error(40029)
    if grant.used:
        return wechat.error(40163)
    if wechat.clock() - grant.created > CODE_TTL:
        return wechat.error(40029)
    grant.used = True
    wechat.state["exchanges"] += 1
    tokens = Tokens(app.appid, grant.person, grant.scope)
    refresh = secrets.token_urlsafe(32)
    wechat.refresh[refresh] = (tokens, wechat.clock())
    answer = {**wechat.issue(tokens), "refresh_token": refresh}
    if app.unionid_bound:
        answer["unionid"] = wechat.unionid(grant.person)
    return web.json_response(answer)


async def refresh_token(request: web.Request) -> web.Response:
    wechat, q = request.app[WECHAT], request.query
    if q.get("appid") not in wechat.apps or q.get("grant_type") != "refresh_token":
        return wechat.error(40030)
    found = wechat.refresh.get(q.get("refresh_token", ""))
    if found is None or found[0].appid != q["appid"] or wechat.clock() - found[1] > REFRESH_TTL:
        return wechat.error(40030)
    wechat.state["refreshes"] += 1
    return web.json_response({**wechat.issue(found[0]), "refresh_token": q["refresh_token"]})


def _checked_access(wechat: WeChat, q: Any) -> Tokens | int:
    tokens = wechat.valid_access(q.get("access_token", ""))
    if tokens is None:
        return 40001
    if tokens is False:
        return 42001
    assert isinstance(tokens, Tokens)
    if q.get("openid") != wechat.openid(tokens.appid, tokens.person):
        return 40003
    return tokens


async def sns_auth(request: web.Request) -> web.Response:
    wechat = request.app[WECHAT]
    tokens = _checked_access(wechat, request.query)
    if isinstance(tokens, int):
        return wechat.error(tokens)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


async def userinfo(request: web.Request) -> web.Response:
    wechat, q = request.app[WECHAT], request.query
    tokens = _checked_access(wechat, q)
    if isinstance(tokens, int):
        return wechat.error(tokens)
    if tokens.scope not in ("snsapi_userinfo", "snsapi_login"):
        return wechat.error(48001)
    lang = LANGS.get(q.get("lang", "zh_CN"), 0)
    person = PEOPLE[tokens.person]
    info = {
        "openid": wechat.openid(tokens.appid, tokens.person),
        "nickname": person["nickname"],
        "sex": person["sex"],
        "province": person["province"][lang],
        "city": person["city"][lang],
        "country": person["country"][lang],
        "headimgurl": "https://thirdwx.qlogo.cn/mmopen/placeholder/132",
        "privilege": [],
    }
    if wechat.apps[tokens.appid].unionid_bound:
        info["unionid"] = wechat.unionid(tokens.person)
    return web.json_response(info, dumps=_dumps_unicode)


def _dumps_unicode(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


async def api_items(request: web.Request) -> web.Response:
    wechat, q = request.app[WECHAT], request.query
    wechat.state["api_requests"] += 1
    if request.app[LATENCY]:
        await asyncio.sleep(request.app[LATENCY])
    token = q.get("access_token", "")
    tokens = wechat.valid_access(token)
    if tokens and wechat.expire_after_uses:
        wechat.uses[token] = wechat.uses.get(token, 0) + 1
        if wechat.uses[token] > wechat.expire_after_uses:
            tokens.access[token] = 0.0
            tokens = False
    if not tokens:
        wechat.state["api_rejected"] += 1
        return wechat.error(40001 if tokens is None else 42001)
    return web.json_response(items_page(q.get("page", "1"), request.path))


async def api_moved(request: web.Request) -> web.Response:
    wechat = request.app[WECHAT]
    wechat.state["moved"] += 1
    raise web.HTTPFound(f"{wechat.moved_to}/api/items?{request.query_string}")


def create_app(
    *,
    apps: list[App] | None = None,
    clock: Clock | None = None,
    access_ttl: float = 7200.0,
    person: str = "wang",
    auto_confirm: bool = False,
    latency: float = 0.0,
) -> web.Application:
    wechat = WeChat(
        apps or [App("wx0123456789abcdef", "wechat-app-secret-0123456789")],
        clock=clock or Clock(),
        access_ttl=access_ttl,
        person=person,
    )
    app = web.Application()
    app[WECHAT], app[AUTO], app[LATENCY] = wechat, auto_confirm, latency
    app.router.add_get("/connect/qrconnect", qrconnect)
    app.router.add_get("/connect/oauth2/authorize", oauth2_authorize)
    app.router.add_post("/connect/confirm", confirm)
    app.router.add_get("/connect/confirm", confirm)
    app.router.add_get("/sns/oauth2/access_token", access_token)
    app.router.add_get("/sns/oauth2/refresh_token", refresh_token)
    app.router.add_get("/sns/auth", sns_auth)
    app.router.add_get("/sns/userinfo", userinfo)
    app.router.add_get("/api/items", api_items)
    app.router.add_get("/api/moved", api_moved)
    return app


class WeChatServer(ServerThread):
    """``with WeChatServer(access_ttl=5) as s: s.url, s.wechat.state``."""

    def __init__(self, **kwargs: Any) -> None:
        self.clock = kwargs.setdefault("clock", Clock())
        super().__init__(create_app(**kwargs))
        self.wechat = self.app[WECHAT]


def _build(args: argparse.Namespace) -> web.Application:
    return create_app(
        apps=[App(args.appid, args.secret, callback_domain=args.callback_domain)],
        access_ttl=args.access_ttl,
        auto_confirm=args.auto_confirm,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.oauth_servers.wechat")
    parser.add_argument("--appid", default="wx0123456789abcdef")
    parser.add_argument("--secret", default="wechat-app-secret-0123456789")
    parser.add_argument("--callback-domain", default="127.0.0.1")
    parser.add_argument("--access-ttl", type=float, default=7200.0)
    parser.add_argument("--auto-confirm", action="store_true")
    main(_build, parser)
