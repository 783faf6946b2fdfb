"""The alerts API (channels and routes an admin keeps in a private file, test messages), the
freshness board (stalest first, on the store's items), and scheduled runs that did not start
alerted by the service's tick, then resolved once a run starts."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.service.api_tokens import TokenFile
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread
from tests.crawler.service.conftest import Service


@pytest.fixture
def receiver(monkeypatch):
    server = ServerThread(HttpReceiver())
    got = server.start()
    monkeypatch.setenv("TEST_TEAM_URL", f"{got.url}/team")
    yield got
    server.stop()


def admin(service: Service) -> dict[str, str]:
    token, _ = TokenFile(service.tmp / "secrets" / "tokens.json").create("boss", role="admin")
    return {"Authorization": f"Bearer {token}"}


def test_admins_keep_channels_and_routes_in_a_private_file(sqlite_service, receiver) -> None:
    client, boss = sqlite_service.client, admin(sqlite_service)
    listed = client.get("/api/alerts").json()
    webhook = next(c for c in listed["channels"] if c["name"] == "webhook")
    assert webhook["source"] == "builtin" and webhook["ready"] is False
    assert "is not set" in webhook["problem"]
    channel = {"type": "webhook", "url_env": "TEST_TEAM_URL", "quiet_hours": ""}
    # an editor may not change channels; a value where a variable's name goes is refused
    assert client.put("/api/alerts/channels/team", json=channel,
                      headers=sqlite_service.auth).status_code == 403  # fmt: skip
    bad = client.put("/api/alerts/channels/team", headers=boss,
                     json={**channel, "url_env": "http://127.0.0.1/hook?key=secret"})  # fmt: skip
    assert bad.status_code == 422 and "not a value" in bad.json()["detail"]
    put = client.put("/api/alerts/channels/team", json=channel, headers=boss)
    assert put.status_code == 200, put.text
    assert put.json()["problem"] is None
    file = Path(sqlite_service.settings["ALERTS_FILE"])
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "127.0.0.1" not in file.read_text()  # names of variables only
    unknown = client.put("/api/alerts/routes", headers=boss,
                         json={"routes": [{"match": {"tag": "gov"}, "to": ["nobody"]}]})  # fmt: skip
    assert unknown.status_code == 422 and "no alert channel named 'nobody'" in unknown.text
    routes = {"routes": [{"match": {"tag": "gov"}, "to": ["team"]}]}
    assert client.put("/api/alerts/routes", json=routes, headers=boss).status_code == 200
    listed = client.get("/api/alerts").json()
    team = next(c for c in listed["channels"] if c["name"] == "team")
    assert team["source"] == "admin" and team["ready"] and team["url_env"] == "TEST_TEAM_URL"
    assert listed["routes"] == [{"match": {"tag": "gov"}, "to": ["team"], "source": "admin"}]
    assert client.delete("/api/alerts/channels/team", headers=boss).status_code == 409  # in use
    sent = client.post("/api/alerts/test", json={"channel": "team"}, headers=boss)
    assert sent.json() == {"sent": ["team"], "failed": [], "held": []}
    assert receiver.requests[-1].json["event"] == "test"


def test_the_freshness_board_lists_the_stalest_sources_first(sqlite_service) -> None:
    service = sqlite_service
    rule = service.rules_dir / "sample_books.yaml"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(
        text.replace("\nstart:", "\nmonitors: {min_new_items: {count: 1, within: 1d}}\nstart:", 1)
    )
    news = [
        {"_url": f"http://n.test/{i}", "_rule": "sample_news_gbk", "title": "t"} for i in range(2)
    ]
    books = [
        {"_url": f"http://b.test/{i}", "_rule": "sample_books", "title": "b"} for i in range(3)
    ]
    service.store.upsert_many("sample_news_gbk", news, ("_url",))
    service.store.upsert_many("sample_books", books, ("_url",))
    with sqlite3.connect(service.tmp / "store.db") as conn:  # first seen ten days ago
        (table,) = conn.execute(
            "SELECT table_name FROM _collections WHERE name = 'sample_books' AND kind = 'items'"
        ).fetchone()
        old = "2026-11-26T00:00:00.000Z"
        conn.execute(
            f"""UPDATE "{table}" SET _first_seen = ?, doc = json_set(doc, '$._first_seen', ?)""",
            (old, old),
        )
    board = service.client.get("/api/freshness").json()["items"]
    first = board[0]
    assert first["rule"] == "sample_books" and first["status"] == "failing"
    assert first["new_items"] == 0 and first["last_new_at"].startswith("2026-11-26")
    assert first["results"][0]["message"].startswith("0 new item(s) in the last 1d")
    fresh = next(r for r in board if r["rule"] == "sample_news_gbk")
    assert fresh["status"] == "unchecked" and fresh["stale_seconds"] < 600
    assert service.client.get("/api/freshness?tag=nothing-has-it").json()["items"] == []


def test_a_scheduled_run_that_did_not_start_is_alerted_then_resolved(
    tmp_path, receiver, monkeypatch
) -> None:
    from tests.crawler.service.conftest import make_service

    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"{receiver.url}/hook")
    service_iter = make_service(
        "sqlite", tmp_path, MONITORS_ALERTS="webhook", ALERT_SCHEDULE_GRACE=0
    )
    service = next(service_iter)
    try:
        rule = service.rules_dir / "sample_books.yaml"
        text = rule.read_text(encoding="utf-8")
        rule.write_text(text.replace("\nstart:", "\nschedule: {cron: '* * * * *'}\nstart:", 1))
        state = service.client.app.state.alerts
        state.tick()
        [late] = [r.json for r in receiver.requests]
        assert late["event"] == "schedule_late" and late["checks"] == ["schedule_start"]
        assert "did not start" in late["lines"][0]
        state.tick()  # still late: not repeated within the window
        assert len(receiver.requests) == 1
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        service.store.record_run({"run_id": "r1", "rule": "sample_books", "started_at": now,
                                  "status": "running"})  # fmt: skip
        state.tick()
        assert [r.json["event"] for r in receiver.requests] == ["schedule_late", "resolved"]
        assert receiver.requests[-1].json["checks"] == ["schedule_start"]
    finally:
        service_iter.close()
