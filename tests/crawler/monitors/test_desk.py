"""The alert desk on a loopback receiver, with a clock the tests move: routing by rule, tag and
table, deduplication within a window, quiet hours with one digest after them, "resolved" once."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler import settings as project_settings
from crawler.monitors import AlertDesk, ChannelError, Subject
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread


class Clock:
    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def receiver(monkeypatch):
    server = ServerThread(HttpReceiver())
    got = server.start()
    monkeypatch.setenv("TEST_OPS_URL", f"{got.url}/ops")
    monkeypatch.setenv("TEST_GOV_URL", f"{got.url}/gov")
    yield got
    server.stop()


def desk_settings(tmp_path: Path, receiver, **values) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings)
    settings.setdict(
        {
            "ALERTS_STATE": str(tmp_path / "alerts.sqlite"),
            "ALERTS_FILE": str(tmp_path / "alerts.yaml"),
            "ALERT_TIMEZONE": "UTC",
            "ALERT_CHANNELS": {
                "ops": {"type": "webhook", "url_env": "TEST_OPS_URL"},
                "gov": {"type": "webhook", "url_env": "TEST_GOV_URL", "quiet_hours": ""},
            },
            "ALERT_ROUTES": [
                {"match": {"tag": "gov"}, "to": ["gov"]},
                {"match": {"rule": "city_*", "table": "cities"}, "to": ["gov"]},
            ],
            "MONITORS_ALERTS": ["ops"],
            **values,
        },
        priority="cmdline",
    )
    return settings


def failing(name: str = "min_items", message: str = "2 items, below 10") -> dict:
    return {"name": name, "ok": False, "message": message}


def passing(name: str = "min_items") -> dict:
    return {"name": name, "ok": True, "message": ""}


def paths(receiver) -> list[str]:
    return [r.path for r in receiver.requests]


def test_routes_pick_channels_by_rule_tag_and_table(tmp_path, receiver) -> None:
    desk = AlertDesk(desk_settings(tmp_path, receiver))
    config = desk.config
    assert config.channels_for(Subject("books")) == ["ops"]  # no route: the default channels
    assert config.channels_for(Subject("ministry", tags=("gov", "news"))) == ["gov"]
    assert config.channels_for(Subject("city_a", table="cities")) == ["gov"]
    assert config.channels_for(Subject("city_a", table="towns")) == ["ops"]  # every key matches
    assert config.channels_for(Subject("x", tags=("gov",), to=("ops",))) == ["ops", "gov"]
    outcome = desk.report(Subject("ministry", tags=("gov",)), [failing()], "t", {"event": "e"})
    assert outcome.sent == ["gov"] and paths(receiver) == ["/gov"]
    body = receiver.requests[0].json
    assert (
        body["event"] == "e" and body["subject"] == "ministry" and body["checks"] == ["min_items"]
    )
    assert body["lines"][0] == "- min_items: 2 items, below 10"


def test_a_failing_check_is_alerted_once_per_window_then_resolved_once(tmp_path, receiver) -> None:
    clock = Clock(datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
    desk = AlertDesk(desk_settings(tmp_path, receiver, ALERT_DEDUP_WINDOW=3600), now=clock)
    books = Subject("books")
    assert desk.report(books, [failing(), passing("max_error_rate")], "t", {}).fresh == [
        "min_items"
    ]
    clock.advance(600)
    second = desk.report(books, [failing()], "t", {})
    assert second.suppressed == ["min_items"] and second.sent == []
    clock.advance(600)
    # a new failing check is alerted at once; the one already alerted is only mentioned
    third = desk.report(books, [failing(), failing("max_ban_rate", "ban rate 50%")], "t", {})
    assert third.fresh == ["max_ban_rate"] and third.suppressed == ["min_items"]
    assert "still failing, already alerted: min_items" in receiver.requests[-1].json["lines"]
    clock.advance(3600)
    fourth = desk.report(books, [failing()], "t", {})  # the window is over: alerted again
    assert fourth.fresh == ["min_items"]
    assert "(repeated 2 time(s) since the last alert)" in receiver.requests[-1].json["lines"][0]
    assert len(receiver.requests) == 3
    # the rule's own window wins over the setting
    clock.advance(120)
    assert desk.report(Subject("books", dedup=60), [failing()], "t", {}).fresh == ["min_items"]
    resolved = desk.report(books, [passing(), passing("max_ban_rate")], "t", {})
    assert sorted(resolved.resolved) == ["max_ban_rate", "min_items"]
    last = receiver.requests[-1].json
    assert last["event"] == "resolved" and sorted(last["checks"]) == ["max_ban_rate", "min_items"]
    assert "resolved" in last["title"]
    count = len(receiver.requests)
    again = desk.report(books, [passing(), passing("max_ban_rate")], "t", {})
    assert again.resolved == [] and len(receiver.requests) == count  # "resolved" is said once
    assert desk.failing() == []


def test_skipped_checks_neither_fail_nor_resolve(tmp_path, receiver) -> None:
    desk = AlertDesk(desk_settings(tmp_path, receiver))
    desk.report(Subject("books"), [failing()], "t", {})
    skipped = {"name": "min_items", "ok": True, "message": "skipped: no earlier run"}
    assert desk.report(Subject("books"), [skipped], "t", {}).resolved == []
    assert [row["check"] for row in desk.failing()] == ["min_items"]


def test_quiet_hours_hold_alerts_and_send_one_digest_after(tmp_path, receiver) -> None:
    clock = Clock(datetime(2026, 12, 6, 23, 30, tzinfo=UTC))
    settings = desk_settings(tmp_path, receiver, ALERT_QUIET_HOURS="22:00-08:00")
    desk = AlertDesk(settings, now=clock)
    held = desk.report(Subject("books"), [failing()], "[crawler] books: failed", {"event": "e"})
    assert held.held == ["ops"] and receiver.requests == []
    # the "gov" channel has quiet_hours "": never quiet
    assert desk.report(Subject("m", tags=("gov",)), [failing()], "t", {}).sent == ["gov"]
    clock.advance(3600)
    desk.report(
        Subject("news"), [failing("stall", "no page for 20 min")], "[crawler] news: stalled", {}
    )
    assert desk.flush() == [] and desk.held() == {"ops": 2}  # still quiet: nothing sent
    clock.now = datetime(2026, 12, 7, 8, 1, tzinfo=UTC).timestamp()
    assert desk.flush() == ["ops"]
    digest = receiver.requests[-1].json
    assert digest["event"] == "digest" and len(digest["alerts"]) == 2
    assert "2 alert(s) held during quiet hours 22:00-08:00" in digest["title"]
    assert any("news: stalled" in line for line in digest["lines"])
    assert desk.held() == {} and desk.flush() == []  # sent once


def test_a_digest_that_fails_is_kept_for_the_next_flush(tmp_path, receiver) -> None:
    clock = Clock(datetime(2026, 12, 6, 23, 0, tzinfo=UTC))
    desk = AlertDesk(desk_settings(tmp_path, receiver, ALERT_QUIET_HOURS="22:00-08:00"), now=clock)
    desk.report(Subject("books"), [failing()], "t", {})
    clock.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp()
    receiver.answer = lambda got: (503, {"busy": True})
    assert desk.flush() == [] and desk.held() == {"ops": 1}
    receiver.answer = None
    assert desk.flush() == ["ops"] and desk.held() == {}


def test_a_channel_without_its_variable_is_reported_not_sent(
    tmp_path, receiver, caplog, monkeypatch
) -> None:
    settings = desk_settings(tmp_path, receiver)
    monkeypatch.delenv("TEST_OPS_URL")
    desk = AlertDesk(settings)
    outcome = desk.report(Subject("books"), [failing()], "t", {"event": "monitors_failed"})
    assert outcome.failed == ["ops"] and receiver.requests == []
    assert "alert channel ops cannot send ($TEST_OPS_URL is not set)" in caplog.text


@pytest.mark.parametrize(
    ("channels", "routes", "error"),
    [
        ({"x": {"type": "pager"}}, [], "alert channel 'x': type must be one of"),
        ({"x": {"type": "wecom", "url_env": "https://qyapi/x?key=1"}}, [], "not a value"),
        ({"x": {"type": "wecom", "quiet_hours": "25:00-01:00"}}, [], "quiet_hours is HH:MM"),
        ({}, [{"match": {"tag": "gov"}, "to": ["nowhere"]}], "no alert channel named 'nowhere'"),
        ({}, [{"match": {}, "to": ["ops"]}], "match names at least one of rule, tag, table"),
    ],
)
def test_a_broken_channel_or_route_is_one_line(tmp_path, receiver, channels, routes, error) -> None:
    settings = desk_settings(tmp_path, receiver, ALERT_CHANNELS=channels, ALERT_ROUTES=routes)
    with pytest.raises(ChannelError, match=error.replace("(", r"\(").replace("$", r"\$")):
        AlertDesk(settings)


def test_the_admins_file_is_private_and_cannot_shadow_settings(tmp_path, receiver) -> None:
    from crawler.monitors import AlertConfig, write_file

    settings = desk_settings(tmp_path, receiver)
    file = Path(settings["ALERTS_FILE"])
    write_file(file, {"team": {"type": "email", "to": ["team@example.test"]}},
               [{"match": {"rule": "gov_*"}, "to": ["team"]}])  # fmt: skip
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    config = AlertConfig(settings)
    assert config.channels_for(Subject("gov_a")) == ["team"]
    write_file(file, {"ops": {"type": "email", "to": ["x@example.test"]}}, [])
    with pytest.raises(ChannelError, match="channel 'ops' is already a setting's"):
        AlertConfig(settings)


def test_a_templates_freshness_and_alerts_reach_every_row_of_its_table(tmp_path) -> None:
    from crawler.monitors import rule_subject
    from crawler.rules import load_rules

    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    (rules / "tables").mkdir()
    (rules / "templates" / "notices.yaml").write_text(
        "args: {site: null}\n"
        "start: [{url: '{site}/', page: list}]\n"
        "pages: {list: {fields: {title: {css: 'h1::text'}}}}\n"
        "monitors: {min_new_items: {count: 1, within: 3d}}\n"
        "alerts: {to: [ops], dedup: 6h}\n",
        encoding="utf-8",
    )
    (rules / "tables" / "gov.yaml").write_text(
        "template: notices\ntags: [gov]\nsites:\n"
        "  - {name: gov_a, args: {site: 'http://a.test'}}\n"
        "  - name: gov_b\n    args: {site: 'http://b.test'}\n"
        "    monitors: {min_new_items: {count: 5, within: 1d}}\n",
        encoding="utf-8",
    )
    ruleset = load_rules(rules)
    a, b = ruleset.rules["gov_a"], ruleset.rules["gov_b"]
    assert a.crawl_settings["MONITORS_RULES"]["min_new_items"] == {"count": 1, "within": 259200.0}
    assert b.crawl_settings["MONITORS_RULES"]["min_new_items"] == {"count": 5, "within": 86400.0}
    subject = rule_subject(b)
    assert (subject.name, subject.table, subject.tags) == ("gov_b", "gov", ("gov",))
    assert subject.to == ("ops",) and subject.dedup == 21600.0


def test_routes_given_as_json_on_the_command_line(tmp_path, receiver) -> None:
    routes = '[{"match": {"tag": "gov", "rule": "a_*"}, "to": ["gov", "ops"]}]'
    desk = AlertDesk(desk_settings(tmp_path, receiver, ALERT_ROUTES=routes))
    assert desk.config.channels_for(Subject("a_1", tags=("gov",))) == ["gov", "ops"]
    webhook = desk.config.channels["webhook"].public()
    assert (
        webhook["url_env"] == "ALERT_WEBHOOK_URL"
        and webhook["secret_env"] == "ALERT_WEBHOOK_SECRET"
    )
    with pytest.raises(ChannelError, match="ALERT_ROUTES is not JSON"):
        AlertDesk(desk_settings(tmp_path, receiver, ALERT_ROUTES="[{"))
