"""Signing in with WeChat against the loopback WeChat server: the authorization URLs exactly as
documented, QR-code login, the in-WeChat confirm page (snsapi_userinfo) and silent snsapi_base,
unionid before openid, the state bound to the browser's session, every documented errcode with
its message, the session's token checked and refreshed, and no secret anywhere."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlsplit

import requests
from fastapi.testclient import TestClient

from tests.crawler.service.signin_support import (
    MP_APPID,
    QR_APPID,
    QR_SECRET,
    SOLO_APPID,
    at_provider,
    callback_path,
    code_and_state,
    location,
    sign_in,
    start,
)

STATE = re.compile(r"^[A-Za-z0-9]{1,128}$")


def unionid(world, person: str = "wang") -> str:
    return world.wechat.wechat.unionid(person)


def openid(world, appid: str, person: str = "wang") -> str:
    return world.wechat.wechat.openid(appid, person)


def person(client: TestClient) -> dict | None:
    return client.get("/api/auth/session").json()["person"]


def test_authorization_urls_are_as_wechat_documents_them(world):
    for provider, path, appid, scope in (
        ("wx", "/connect/qrconnect", QR_APPID, "snsapi_login"),
        ("wxmp", "/connect/oauth2/authorize", MP_APPID, "snsapi_userinfo"),
        ("wxbase", "/connect/oauth2/authorize", SOLO_APPID, "snsapi_base"),
    ):
        url = start(world.client, provider)
        parts = urlsplit(url)
        assert parts.path == path and parts.fragment == "wechat_redirect"
        params = parse_qsl(parts.query)
        assert [k for k, _ in params] == [
            "appid",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
        ]
        values = dict(params)
        assert values["appid"] == appid and values["scope"] == scope
        assert values["response_type"] == "code"
        assert values["redirect_uri"] == f"http://testserver/api/auth/{provider}/callback"
        assert "redirect_uri=http%3A%2F%2Ftestserver%2Fapi%2Fauth%2F" in parts.query  # encoded
        assert STATE.match(values["state"]) and len(values["state"].encode()) <= 128
        assert QR_SECRET not in url


def test_qr_code_login_signs_in_by_unionid_with_the_role_of_the_roles_file(world):
    world.roles((f"wechat:{unionid(world)}", "editor"))
    client = world.client
    url = start(client, "wx", next_path="/#/rules")
    scan_page = requests.get(url.split("#")[0], timeout=10)
    assert "Scan with WeChat" in scan_page.text  # the QR page a person scans
    back = at_provider(url)
    answer = client.get(callback_path(back), follow_redirects=False)
    assert location(answer) == "/#/rules"
    me = person(client)
    assert me["role"] == "editor" and me["id"] == f"wechat:{unionid(world)}"
    assert me["name"] == "小王" and me["provider"] == "wx"
    assert world.wechat.wechat.state["exchanges"] == 1
    # who signed in is recorded, for `scrapy auth people`
    (seen,) = world.signin.sessions.people()
    assert seen["id"] == f"wechat:{unionid(world)}"
    assert f"wechat:{openid(world, QR_APPID)}" in seen["keys"]


def test_inside_wechat_the_person_confirms_and_the_profile_is_read(world):
    # the Official Account's openid differs from the website app's; the unionid is the same
    world.roles((f"wechat:{openid(world, MP_APPID)}", "viewer"))
    client = world.client
    url = start(client, "wxmp")
    confirm = requests.get(url.split("#")[0], allow_redirects=False, timeout=10)
    assert confirm.status_code == 200 and "Allow access to your public profile" in confirm.text
    assert sign_in(client, "wxmp").status_code == 303
    me = person(client)
    assert me["role"] == "viewer" and me["id"] == f"wechat:{unionid(world)}"
    assert me["name"] == "小王"


def test_silent_base_scope_identifies_by_openid_when_there_is_no_unionid(world):
    solo = f"wechat:{openid(world, SOLO_APPID)}"
    world.roles((solo, "admin"))
    url = start(world.client, "wxbase")
    silent = requests.get(url.split("#")[0], allow_redirects=False, timeout=10)
    assert silent.status_code == 302  # no page: snsapi_base asks nothing
    answer = world.client.get(callback_path(silent.headers["Location"]), follow_redirects=False)
    assert answer.status_code == 303
    me = person(world.client)
    assert me["id"] == solo and me["role"] == "admin" and me["name"].startswith("WeChat o")


def test_a_person_without_a_role_is_told_their_id(world):
    answer = sign_in(world.client, "wx")
    body = answer.json()
    assert answer.status_code == 403 and body["error"] == "access_denied"
    assert body["reason"] == "no_role" and body["id"] == f"wechat:{unionid(world)}"
    assert (
        f"scrapy auth people add wechat:{unionid(world)} --role viewer"
        in (body["error_description"])
    )
    assert person(world.client) is None


def test_a_forged_or_missing_state_is_refused_as_csrf(world):
    world.roles((f"wechat:{unionid(world)}", "admin"))
    client = world.client
    back = at_provider(start(client, "wx"))
    code, state = code_and_state(back)
    forged = f"/api/auth/wx/callback?code={code}&state={'A' * len(state)}"
    for path in (forged, f"/api/auth/wx/callback?code={code}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["error"] == "invalid_request" and body["reason"] == "state"
        assert "CSRF" in body["error_description"]
    # the real state of another browser is refused too: the state is bound to the session
    other = TestClient(client.app)
    answer = other.get(callback_path(back), follow_redirects=False)
    assert answer.json()["reason"] == "state"
    assert world.wechat.wechat.state["exchanges"] == 0  # no code was exchanged
    assert person(client) is None and person(other) is None
    # a browser is sent to the sign-in page, which says it in the person's language
    back = at_provider(start(client, "wx"))
    code, _ = code_and_state(back)
    page = client.get(f"/api/auth/wx/callback?code={code}&state=forged",
                      headers={"Accept": "text/html"}, follow_redirects=False)  # fmt: skip
    assert location(page).startswith("/#/signin?") and "reason=state" in location(page)


def test_a_person_who_does_not_allow_it(world):
    back = at_provider(start(world.client, "wx"))
    _, state = code_and_state(back)
    answer = world.client.get(f"/api/auth/wx/callback?state={state}", follow_redirects=False)
    assert answer.status_code == 403 and answer.json()["error"] == "access_denied"


def failed(world, back: str) -> dict:
    answer = world.client.get(callback_path(back), follow_redirects=False)
    assert answer.status_code >= 400, answer.text
    return answer.json()


def test_each_documented_errcode_gives_a_message_a_person_can_act_on(world):
    world.roles((f"wechat:{unionid(world)}", "admin"))
    wx = world.wechat.wechat
    # 40029: the code expired (5 minutes)
    back = at_provider(start(world.client, "wx"))
    world.wechat.clock.advance(301)
    body = failed(world, back)
    assert (body["error"], body["reason"], body["errcode"]) == (
        "invalid_grant",
        "wechat_40029",
        "40029",
    )
    assert "expire after 5 minutes" in body["error_description"]
    # 40163: the code was used already
    back = at_provider(start(world.client, "wx"))
    code, _ = code_and_state(back)
    first = requests.get(f"{world.wechat.url}/sns/oauth2/access_token", timeout=10, params={
        "appid": QR_APPID, "secret": QR_SECRET, "code": code, "grant_type": "authorization_code"})  # fmt: skip
    assert "access_token" in first.json()
    body = failed(world, back)
    assert body["reason"] == "wechat_40163" and "already used" in body["error_description"]
    # 40001: WeChat refuses the app secret (it was reset on the platform)
    wx.apps[QR_APPID].secret = "reset-on-the-platform-0000"
    body = failed(world, at_provider(start(world.client, "wx")))
    assert (body["error"], body["reason"]) == ("invalid_client", "wechat_40001")
    assert "SIGNIN_QR_SECRET" in body["error_description"]  # where an admin looks
    wx.apps[QR_APPID].secret = QR_SECRET
    # 42001: the access token expired before the profile was read (and again once refreshed)
    wx.access_ttl = 0
    body = failed(world, at_provider(start(world.client, "wx")))
    assert body["reason"] == "wechat_42001" and "expired" in body["error_description"]
    assert wx.state["refreshes"] == 1  # refreshed once, not in a loop
    wx.access_ttl = 7200
    # 40003: WeChat no longer knows the openid the exchange gave (answered as WeChat would)
    real = type(wx).openid
    calls = []

    def shifting(self, appid, who):
        calls.append(appid)
        return real(self, appid, who) + ("x" if len(calls) > 1 else "")

    type(wx).openid = shifting
    try:
        body = failed(world, at_provider(start(world.client, "wx")))
    finally:
        type(wx).openid = real
    assert body["reason"] == "wechat_40003" and "invalid openid" in body["error_description"]
    assert set(wx.state["errors"]) >= {40029, 40163, 40001, 42001, 40003}
    assert person(world.client) is None


def test_a_session_checks_its_token_refreshes_it_and_ends_when_authorization_is_gone(world):
    world.roles((f"wechat:{unionid(world)}", "viewer"))
    client, signin, wx = world.client, world.signin, world.wechat.wechat
    assert sign_in(client, "wx").status_code == 303
    assert client.get("/api/rules").status_code == 200
    # an hour later the token is checked (sns/auth); it expired after 2 hours: refreshed
    world.wechat.clock.advance(7201)
    signin.clock = lambda: time.time() + 3601
    assert client.get("/api/rules").status_code == 200
    assert wx.state["refreshes"] == 1
    # the person withdraws the authorization: the refresh token is refused (40030)
    wx.refresh.clear()
    world.wechat.clock.advance(7201)
    signin.clock = lambda: time.time() + 7300
    answer = client.get("/api/rules")
    assert answer.status_code == 401 and "errcode 40030" in answer.json()["detail"]
    assert client.get("/api/rules").status_code == 401  # the session is gone
    assert 40030 in wx.state["errors"]
