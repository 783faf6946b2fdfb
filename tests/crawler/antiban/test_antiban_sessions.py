"""Cookie sessions end to end: a members-only site with a login form that expires sessions."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from aiohttp import web

from .support import ThreadedApp, run_crawl

USER, PASSWORD = "reader", "hunter2-Secret"
STATE = web.AppKey("state", dict)
PAGES = 12


def members_site(*, requests_per_session: int, file_sid: str) -> web.Application:
    """``/members/{n}`` needs a valid ``sid`` cookie, else it redirects to ``/login``; a sid
    expires after ``requests_per_session`` pages. ``POST /login`` hands out new sids."""
    ids = itertools.count(1)
    sids: dict[str, int] = {file_sid: 0}
    state = {"logins": 0, "bad_logins": 0, "expired": 0, "sids_seen": set()}

    async def login_form(request: web.Request) -> web.Response:
        return web.Response(
            text="<form method=post><input name=user></form>", content_type="text/html"
        )

    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("user") != USER or form.get("password") != PASSWORD:
            state["bad_logins"] += 1
            return web.Response(text="<p>Invalid credentials</p>", content_type="text/html")
        state["logins"] += 1
        sid = f"sid{next(ids)}"
        sids[sid] = 0
        response = web.Response(text="<p>Welcome back</p>", content_type="text/html")
        response.set_cookie("sid", sid)
        return response

    async def members(request: web.Request) -> web.Response:
        sid = request.cookies.get("sid", "")
        if sid not in sids:
            raise web.HTTPFound(f"/login?next={request.path}")
        state["sids_seen"].add(sid)
        sids[sid] += 1
        if sids[sid] > requests_per_session:
            del sids[sid]
            state["expired"] += 1
            raise web.HTTPFound(f"/login?next={request.path}")
        n = request.match_info["n"]
        return web.Response(text=f"<h1>Member page {n}</h1>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_get("/members/{n}", members)
    app[STATE] = state
    return app


@pytest.mark.timeout(60)
def test_login_sessions_are_retired_and_replaced(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEMBERS_USER", USER)
    monkeypatch.setenv("MEMBERS_PASSWORD", PASSWORD)
    app = members_site(requests_per_session=4, file_sid="never-used")
    with ThreadedApp(app) as site:
        urls = [f"{site.url}/members/{n}" for n in range(PAGES)]
        result = run_crawl(
            urls,
            {
                "CONCURRENT_REQUESTS": 2,
                "LOG_LEVEL": "DEBUG",
                "BAN_RETRY_DELAY": 0.1,
                "SESSION_COUNT": 2,
                "SESSION_LOGIN_URL": f"{site.url}/login",
                "SESSION_LOGIN_FORM": {
                    "user": "${MEMBERS_USER}",
                    "password": "${MEMBERS_PASSWORD}",
                },
                "SESSION_LOGIN_SUCCESS_MARKER": "Welcome",
            },
            tmp_path,
        )
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(result.fetched) == sorted(urls), result.log[-4000:]
    assert all(h.startswith("Member page") for h in result.fetched.values())
    state = app[STATE]
    # 12 pages at 4 per session: at least 3 logins, and expired sessions were replaced.
    assert state["logins"] >= 3 and state["bad_logins"] == 0
    stats = result.stats
    assert stats["antiban/sessions/login_ok"] == state["logins"]
    assert stats["antiban/sessions/retired"] >= 1
    assert stats["antiban/bans/login_redirect"] >= 1
    assert PASSWORD not in result.log


@pytest.mark.timeout(60)
def test_cookie_file_sessions_and_a_failing_login_stops_the_crawl(tmp_path: Path, monkeypatch):
    cookies = tmp_path / "cookies.json"
    cookies.write_text(json.dumps([{"name": "sid", "value": "from-file", "domain": "127.0.0.1"}]))
    app = members_site(requests_per_session=100, file_sid="from-file")
    with ThreadedApp(app) as site:
        urls = [f"{site.url}/members/{n}" for n in range(4)]
        result = run_crawl(urls, {"SESSION_COOKIES_FILES": [str(cookies)]}, tmp_path)
        assert sorted(result.fetched) == sorted(urls), result.log[-3000:]
        assert app[STATE]["sids_seen"] == {"from-file"}

        monkeypatch.setenv("MEMBERS_PASSWORD", "wrong")
        result = run_crawl(
            urls,
            {
                "SESSION_COUNT": 2,
                "SESSION_LOGIN_URL": f"{site.url}/login",
                "SESSION_LOGIN_FORM": {"user": USER, "password": "${MEMBERS_PASSWORD}"},
                "SESSION_LOGIN_FAILURE_MARKER": "Invalid credentials",
                "SESSION_LOGIN_MAX_FAILURES": 2,
            },
            tmp_path,
        )
    assert result.returncode == 0
    assert result.fetched == {}
    assert result.stats["finish_reason"] == "antiban_no_session"
    # Logins already under way when the limit is reached still finish: 2, or 3 with 2 sessions.
    assert 2 <= result.stats["antiban/sessions/login_failed"] <= 3
    assert app[STATE]["bad_logins"] == result.stats["antiban/sessions/login_failed"]
    assert "failed logins" in result.log
