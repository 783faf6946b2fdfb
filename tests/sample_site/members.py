"""The sample site's members' area: a login form, a members-only catalogue, and a log of how
each account was used, so tests can hold a crawl to its accounts' limits by the site's word.

- ``GET /members/login``: the form (``username``, ``password``); ``POST /members/login`` checks
  them against :data:`ACCOUNTS`: a ``msid`` cookie and "Welcome, NAME", or "Invalid
  credentials";
- ``GET /members/catalogue/{n}.html`` (n in 1..:data:`PAGES`): a book page (``h1``) for a
  valid ``msid``, else a redirect to the login form. Account :data:`BANNED` is answered a 403
  ban page ("Access denied") from its request number :data:`BAN_AFTER` + 1 on;
- ``GET /members/log.json``: what the site saw (:func:`site_log`).

Per account the log keeps each catalogue request (time, client, status), the logins, and the
**violations**: an account used by two clients taking turns within :data:`WINDOW` seconds (A,
then B, then A again: two processes at once). A client is the ``X-Client`` header when the
request has one (a test names each crawl process so), else the session cookie; one client
handing an account over to another (A, A, B, B) is no violation.
"""

from __future__ import annotations

import secrets
import time
import weakref
from html import escape
from typing import Any

from aiohttp import web

HTML = "text/html"
PAGES = 60
WINDOW = 1.0
BANNED, BAN_AFTER = "bob", 2
ACCOUNTS = {  # username -> password; the account's name is the username's first part
    "ann@members.test": "ann-pass-7Q",
    "bob@members.test": "bob-pass-8R",
    "cid@members.test": "cid-pass-9S",
    "dee@members.test": "dee-pass-1T",
    "eve@members.test": "eve-pass-2U",
}
_logs: weakref.WeakKeyDictionary[web.Application, dict[str, Any]] = weakref.WeakKeyDictionary()


def site_log(app: web.Application) -> dict[str, Any]:
    """``{"sessions": {msid: account}, "requests": {account: [[t, client, status], ...]},
    "logins": {account: [[t, ok], ...]}, "violations": [...]}`` of this app."""
    return _logs.setdefault(
        app, {"sessions": {}, "requests": {}, "logins": {}, "violations": [], "recent": {}}
    )


def account_name(username: str) -> str:
    return username.split("@", 1)[0]


async def login_form(request: web.Request) -> web.Response:
    return web.Response(
        text="<form method=post action=/members/login><input name=username>"
        "<input name=password type=password><button>Sign in</button></form>",
        content_type=HTML,
    )


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    log = site_log(request.app)
    ok = username in ACCOUNTS and secrets.compare_digest(ACCOUNTS[username], password)
    log["logins"].setdefault(account_name(username), []).append([time.time(), ok])
    if not ok:
        return web.Response(text="<p>Invalid credentials</p>", content_type=HTML)
    sid = secrets.token_hex(8)
    log["sessions"][sid] = account_name(username)
    response = web.Response(
        text=f"<p>Welcome, {escape(account_name(username))}</p>", content_type=HTML
    )
    response.set_cookie("msid", sid, path="/members/")
    return response


def _violation(log: dict[str, Any], account: str, client: str, now: float) -> None:
    recent = log["recent"].setdefault(account, [])
    recent[:] = [(t, c) for t, c in recent if now - t <= 2 * WINDOW]
    others = [t for t, c in recent if c != client and now - t <= WINDOW]
    # did this client use the account before the other one did, within the window?
    if others and any(c == client and 0 <= min(others) - t <= WINDOW for t, c in recent):
        log["violations"].append({"account": account, "client": client, "at": now})
    recent.append((now, client))


async def catalogue_page(request: web.Request) -> web.Response:
    log = site_log(request.app)
    sid = request.cookies.get("msid", "")
    account = log["sessions"].get(sid)
    if account is None:
        raise web.HTTPFound(f"/members/login?next={request.path}")
    n = int(request.match_info["n"])
    if not 1 <= n <= PAGES:
        raise web.HTTPNotFound()
    now = time.time()
    client = request.headers.get("X-Client") or sid
    _violation(log, account, client, now)
    requests = log["requests"].setdefault(account, [])
    banned = account == BANNED and len(requests) >= BAN_AFTER
    requests.append([now, client, 403 if banned else 200])
    if banned:
        return web.Response(
            status=403, text="<h1>Access denied</h1><p>Account suspended</p>", content_type=HTML
        )
    return web.Response(text=f"<h1>Members book {n}</h1><p>For members only</p>", content_type=HTML)


async def log_json(request: web.Request) -> web.Response:
    log = site_log(request.app)
    return web.json_response({k: v for k, v in log.items() if k != "recent"})


ROUTES: tuple[tuple[str, str, object], ...] = (
    ("GET", "/members/login", login_form),
    ("POST", "/members/login", login),
    ("GET", r"/members/catalogue/{n:\d+}.html", catalogue_page),
    ("GET", "/members/log.json", log_json),
)
