"""Roles, sessions and CSRF with sign-in configured: every API route goes through
``require_role``; viewers read, editors change, admins manage tokens and people; a session's
change needs its CSRF token; sessions expire (idle and absolute) and sign-out ends them; the
cookies are HttpOnly, SameSite=Lax and Secure over HTTPS; API tokens keep working; and no secret
or token reaches an API answer or a log line."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from tests.crawler.service.signin_support import (
    QR_APPID,
    at_provider,
    callback_path,
    csrf,
    sign_in,
    start,
)

RULE = "sample_books"
PUBLIC = {"/api/auth/session", "/api/auth/{provider}/login", "/api/auth/{provider}/embed",
          "/api/auth/{provider}/callback"}  # fmt: skip


def operations(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) of the API, path parameters filled in, from the OpenAPI document."""
    found = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/api/") or path in PUBLIC:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        found += [(method.upper(), concrete) for method in methods]
    return found


def test_every_api_route_needs_a_role_and_every_change_more_than_a_viewer(world):
    anonymous = world.client
    ops = operations(anonymous)
    assert len(ops) >= 25
    for method, path in ops:
        if path == "/api/auth/signout":  # ends the caller's own session (CSRF-checked)
            continue
        answer = anonymous.request(method, path)
        assert answer.status_code == 401, (method, path, answer.status_code)
    viewer = signed_in(world, "viewer", "bob")
    for method, path in ops:
        if path == "/api/auth/signout":  # would end the viewer's session for the routes after it
            continue
        answer = viewer.request(method, path, headers=csrf(viewer))
        if method == "GET" and not path.startswith("/api/admin/"):
            assert answer.status_code not in (401, 403), (method, path, answer.text)
        else:
            assert answer.status_code == 403, (method, path, answer.status_code)


def signed_in(world, role: str, person: str = "alice") -> TestClient:
    client = TestClient(world.client.app)
    world.roles(*[e for e in _entries(world) if e[0] != f"sub:std:u-{person}"],
                (f"sub:std:u-{person}", role))  # fmt: skip
    assert sign_in(client, "std", person=person).status_code == 303
    return client


def _entries(world) -> list[tuple[str, str]]:
    import yaml

    if not world.roles_file.exists():
        return []
    people = yaml.safe_load(world.roles_file.read_text())["people"]
    return [(e["id"], e["role"]) for e in people]


def test_viewers_read_editors_change_admins_manage(world):
    anonymous = world.client
    for path in ("/api/rules", "/api/collections", "/api/runs", "/api/schedules",
                 f"/api/rules/{RULE}", "/api/admin/tokens"):  # fmt: skip
        assert anonymous.get(path).status_code == 401, path  # reads need a viewer now
    text = anonymous.get(f"/api/rules/{RULE}", headers=world.service.auth).json()["yaml"]
    viewer = signed_in(world, "viewer", "bob")
    assert viewer.get("/api/rules").status_code == 200
    refused = viewer.put(f"/api/rules/{RULE}", json={"yaml": text}, headers=csrf(viewer))
    assert refused.status_code == 403 and "needs the editor role" in refused.json()["detail"]
    assert (
        viewer.post(f"/api/rules/{RULE}/run", json={"args": {}}, headers=csrf(viewer)).status_code
        == 403
    )
    editor = signed_in(world, "editor")
    saved = editor.put(f"/api/rules/{RULE}", json={"yaml": text}, headers=csrf(editor))
    assert saved.status_code == 200 and saved.json()["saved"] is True
    assert editor.get("/api/admin/tokens").status_code == 403
    admin = signed_in(world, "admin")
    tokens = admin.get("/api/admin/tokens").json()["items"]
    assert [t["name"] for t in tokens] == ["tests"] and "hash" not in tokens[0]
    people = admin.get("/api/admin/people").json()["items"]
    assert {p["id"] for p in people} >= {"sub:std:u-alice", "sub:std:u-bob"}
    # an admin gives Bob the editor role; it holds at his next request
    changed = admin.put("/api/admin/people/sub:std:u-bob", json={"role": "editor"},
                        headers=csrf(admin))  # fmt: skip
    assert changed.status_code == 200
    assert (
        viewer.put(f"/api/rules/{RULE}", json={"yaml": text}, headers=csrf(viewer)).status_code
        == 200
    )
    assert admin.delete("/api/admin/people/sub:std:u-bob", headers=csrf(admin)).status_code == 200
    assert viewer.get("/api/rules").status_code == 403  # no role any more
    assert admin.delete("/api/admin/tokens/tests", headers=csrf(admin)).json() == {
        "revoked": "tests"
    }
    assert anonymous.get("/api/rules", headers=world.service.auth).status_code == 401


def test_a_sessions_changes_need_its_csrf_token_api_tokens_do_not(world):
    editor = signed_in(world, "editor")
    body = {"yaml": "name: x\n"}
    missing = editor.post("/api/rules/validate", json=body)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = editor.post("/api/rules/validate", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert editor.post("/api/rules/validate", json=body, headers=csrf(editor)).status_code == 200
    # a machine with an API token: no cookie, no CSRF token
    machine = TestClient(world.client.app)
    answer = machine.post("/api/rules/validate", json=body, headers=world.service.auth)
    assert answer.status_code == 200
    assert machine.get("/api/auth/session", headers=world.service.auth).json()["person"][
        "via"] == "token"  # fmt: skip


def test_cookies_are_httponly_samesite_lax_and_secure_over_https(world):
    world.roles(("sub:std:u-alice", "viewer"))
    client = TestClient(world.client.app)
    login = client.get("/api/auth/std/login", follow_redirects=False)
    before = client.cookies.get("crawler_session")
    assert (
        "HttpOnly" in login.headers["set-cookie"] and "SameSite=Lax" in login.headers["set-cookie"]
    )
    assert "Secure" not in login.headers["set-cookie"]
    answer = sign_in(client, "std")
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("crawler_session="))
    token = next(c for c in cookies if c.startswith("crawler_csrf="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Max-Age=43" in session
    assert "HttpOnly" not in token and "SameSite=Lax" in token  # the page's script reads it
    assert client.cookies.get("crawler_session") != before  # a new id once signed in
    https = TestClient(world.client.app, base_url="https://testserver")
    assert (
        "Secure" in https.get("/api/auth/std/login", follow_redirects=False).headers["set-cookie"]
    )


def test_sessions_expire_when_idle_or_too_old_and_end_at_sign_out(world):
    signin = world.signin
    client = signed_in(world, "viewer")
    stolen = client.cookies.get("crawler_session")
    now = time.time()
    signin.clock = lambda: now + 7100  # idle 2 h less a little: still there
    assert client.get("/api/rules").status_code == 200
    signin.clock = lambda: now + 7100 + 7201  # idle 2 h
    assert client.get("/api/rules").status_code == 401
    signin.clock = time.time
    client = signed_in(world, "viewer")
    now = time.time()  # the session's start (a sign-in under load may take over a second)
    for hours in range(1, 12):  # busy all day
        signin.clock = lambda h=hours: now + h * 3600
        assert client.get("/api/rules").status_code == 200
    signin.clock = lambda: now + 12 * 3600 + 1  # 12 h at most
    assert client.get("/api/rules").status_code == 401
    signin.clock = time.time
    client = signed_in(world, "viewer")
    stolen = client.cookies.get("crawler_session")
    assert client.post("/api/auth/signout").status_code == 403  # a form without its token
    out = client.post("/api/auth/signout", headers=csrf(client))
    assert out.json() == {"signed_out": True}
    assert all("Max-Age=0" in c for c in out.headers.get_list("set-cookie"))
    replay = TestClient(world.client.app, cookies={"crawler_session": stolen})
    assert replay.get("/api/rules").status_code == 401  # ended on the server, not only the cookie
    forged = TestClient(world.client.app, cookies={"crawler_session": stolen[:-2] + "xx"})
    assert forged.get("/api/rules").status_code == 401


def test_no_secret_or_token_in_any_answer_or_log_line(world):
    world.roles(
        ("group:std:admins", "admin"), (f"wechat:{world.wechat.wechat.unionid('wang')}", "editor")
    )
    answers = []
    for provider in ("wx", "wxmp", "std", "gh"):
        client = TestClient(world.client.app)
        answer = sign_in(client, provider)
        answers += [answer.text, str(answer.headers)]
        for path in ("/api/auth/session", "/api/rules", "/api/admin/people", "/api/admin/tokens",
                     "/openapi.json"):  # fmt: skip
            got = client.get(path)
            answers += [got.text, str(got.headers)]
    failed = TestClient(world.client.app)
    world.wechat.wechat.apps[QR_APPID].secret = "reset"
    answers.append(sign_in(failed, "wx").text)  # 40001: its message names the variable only
    secrets = world.secrets()
    assert len(secrets) >= 10
    leaks = [(s, t[:300]) for s in secrets for t in answers if s in t]
    assert leaks == []
    lines = "\n".join(world.log)
    assert "signed in with wx as editor" in lines and "sns/oauth2/access_token" in lines  # DEBUG
    assert [line for line in world.log for s in secrets if s in line] == []


def test_a_sign_in_not_finished_in_time_is_refused_one_started_again_gets_its_own_time(world):
    world.roles((f"wechat:{world.wechat.wechat.unionid('wang')}", "viewer"))
    signin, client = world.signin, world.client
    now = time.time()
    signin.clock = lambda: now
    first = start(client, "wx")
    signin.clock = lambda: now + 540  # 9 minutes later the person starts again
    back = at_provider(start(client, "wx"))
    signin.clock = lambda: now + 1080  # and comes back 9 minutes after that: in time
    assert client.get(callback_path(back), follow_redirects=False).status_code == 303
    late = TestClient(client.app)
    signin.clock = lambda: now
    back = at_provider(start(late, "wx"))
    signin.clock = lambda: now + 601  # more than SIGNIN_STATE_TTL
    answer = late.get(callback_path(back), follow_redirects=False)
    assert answer.status_code == 400 and answer.json()["reason"] == "state"
    assert first != back
