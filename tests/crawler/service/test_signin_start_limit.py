"""Sign-in sessions are created only when a flow starts, and flows start at a bounded rate per
client address (issue 21: 3,000 unauthenticated sign-in requests once left 1,734 session rows)."""

from __future__ import annotations

from fastapi.testclient import TestClient

RATE = 10  # SIGNIN_START_RATE's default


def test_only_a_started_flow_keeps_a_session_and_starts_are_rate_limited(world) -> None:
    sessions, app = world.signin.sessions, world.client.app
    attacker = TestClient(app, client=("198.51.100.7", 40000))
    # what anyone may ask without starting a flow keeps nothing
    assert attacker.get("/api/auth/session").status_code == 200
    for provider in ("std", "wx"):
        answer = attacker.get(
            f"/api/auth/{provider}/callback?state=forged&code=x", follow_redirects=False
        )
        assert answer.status_code in (303, 400), answer.text
    assert sessions.count() == 0
    # starting a flow keeps one session, up to SIGNIN_START_RATE per window and address
    for _ in range(RATE):
        attacker.cookies.clear()  # an attacker sends no cookie: a new session each time
        assert attacker.get("/api/auth/std/login", follow_redirects=False).status_code == 302
    assert sessions.count() == RATE
    for _ in range(300):
        attacker.cookies.clear()
        answer = attacker.get("/api/auth/std/login", follow_redirects=False)
        assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) > 0 and "SIGNIN_START_RATE" in answer.text
    assert attacker.get("/api/auth/nope/login", follow_redirects=False).status_code == 429
    assert sessions.count() == RATE
    # another address has its own budget; the first gets its back once the window has passed
    other = TestClient(app, client=("198.51.100.8", 40000))
    assert other.get("/api/auth/wx/login", follow_redirects=False).status_code == 302
    limit = world.signin.start_limit
    now = limit.clock()
    limit.clock = lambda: now + 61
    attacker.cookies.clear()
    assert attacker.get("/api/auth/std/login", follow_redirects=False).status_code == 302
    assert sessions.count() == RATE + 2
