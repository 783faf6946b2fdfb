"""A rule's monitors: the section's checks and settings, and real crawls of the sample site
whose monitors fail (exit 7, results in the stats and the run record) and send every alert
to a receiver on 127.0.0.1; and a crawl whose monitors hold."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from email import message_from_string
from pathlib import Path
from urllib.parse import unquote

import pytest

from crawler.rules import RuleError
from crawler.spider.project import parse_rule
from crawler.store import open_store
from tests.crawler.crawl import crawl_sample_books, sample_rules_with
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread, SmtpReceiver

BASE = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"


def test_the_section_maps_to_settings() -> None:
    rule = parse_rule(
        BASE + "monitors: {min_items: 5, max_error_rate: 0.1, min_coverage: {t: 0.9},"
        " finish_reasons: [finished, closespider_timeout], every: 1m}\n"
    )
    settings = rule.crawl_settings
    assert settings["MONITORS_RULES"] == {
        "min_items": 5,
        "max_error_rate": 0.1,
        "min_coverage": {"t": 0.9},
        "finish_reasons": ["finished", "closespider_timeout"],
    }
    assert settings["MONITORS_INTERVAL"] == 60.0
    assert settings["SPIDERMON_EXPECTED_FINISH_REASONS"] == ["finished", "closespider_timeout"]
    assert "MONITORS_RULES" not in parse_rule(BASE).crawl_settings


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("monitors: {max_error_rate: 2}\n", ":4:"),
        ("monitors: {every: 5s, min_items: 1}\n", ":4:"),
        ("monitors: {min_items: -1}\n", ":4:"),
        ("monitors: {minimum_items: 3}\n", ":4:"),
        ("monitors: {min_coverage: {t: 1.5}}\n", ":4:"),
    ],
)
def test_bad_checks_are_errors_at_their_line(text: str, where: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(BASE + "\n" + text, filename="r.yaml")
    assert any(where in str(p) and "monitors" in str(p) for p in info.value.errors), info.value


def rules_with(tmp_path: Path, monitors: str) -> Path:
    return sample_rules_with(tmp_path, "monitors", monitors)


def last_run(tmp_path: Path) -> dict:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        return store.runs(rule="sample_books", limit=1)[0]


def test_failed_monitors_fail_the_crawl_and_send_every_alert(tmp_path, make_sample_site) -> None:
    site = make_sample_site(books=10).url
    # title is empty on the sample site's broken book page: 10 of 11 items, under 0.99
    rules = rules_with(
        tmp_path, "{min_items: 1000, min_coverage: {title: 0.99}, max_error_rate: 1}"
    )
    server = ServerThread(HttpReceiver())
    receiver = server.start()
    env = {
        "ALERT_WEBHOOK_URL": f"{receiver.url}/webhook",
        "ALERT_WEBHOOK_SECRET": "webhook-secret-123",
        "ALERT_WECOM_URL": f"{receiver.url}/wecom?key=wecom-key",
        "ALERT_DINGTALK_URL": f"{receiver.url}/dingtalk?access_token=ding-token",
        "ALERT_DINGTALK_SECRET": "SECding-secret",
        "ALERT_FEISHU_URL": f"{receiver.url}/feishu/hook",
        "ALERT_FEISHU_SECRET": "feishu-secret",
        "ALERT_SMTP_PASSWORD": "smtp-password",
    }
    try:
        with SmtpReceiver() as smtp:
            result = crawl_sample_books(
                tmp_path, rules, site,
                "MONITORS_ALERTS=webhook,wecom,dingtalk,feishu,email",
                f"ALERT_SMTP_PORT={smtp.port}",
                "ALERT_EMAIL_TO=ops@example.test",
                env=env,
            )  # fmt: skip
            messages = list(smtp.messages)
    finally:
        server.stop()
    assert result.returncode == 7, result.stderr[-3000:]
    record = last_run(tmp_path)
    stats = record["stats"]
    assert stats["monitors/failed"] == 2 and stats["monitors/passed"] == 1
    by_name = {r["name"]: r for r in stats["monitors/results"]}
    assert by_name["min_items"]["ok"] is False and "1000" in by_name["min_items"]["message"]
    assert by_name["min_coverage/title"]["ok"] is False
    # judged in the page type that has the field, which the message names
    assert (
        "coverage of title in page type 'book' is 90.9% (of 11 items)"
        in (by_name["min_coverage/title"]["message"])
    )
    assert by_name["max_error_rate"]["ok"] is True
    assert by_name["max_error_rate"]["figure"]["errors"] == record["errors"]
    # (alerts are sent after the run record is written: the receivers are the proof)
    got = {r.path.split("/")[1]: r for r in receiver.requests}
    assert set(got) == {"webhook", "wecom", "dingtalk", "feishu"}
    hook = got["webhook"]
    assert hook.json["rule"] == "sample_books" and len(hook.json["failed"]) == 2
    assert hook.json["run_id"] == record["run_id"] and hook.json["errors"] == record["errors"]
    digest = hmac.new(b"webhook-secret-123", hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Signature"] == f"sha256={digest}"
    wecom = got["wecom"]
    assert wecom.query == {"key": "wecom-key"} and wecom.json["msgtype"] == "markdown"
    assert "sample_books" in wecom.json["markdown"]["content"]
    ding = got["dingtalk"]
    assert ding.json["msgtype"] == "markdown" and ding.json["markdown"]["title"]
    timestamp = ding.query["timestamp"]
    expected = base64.b64encode(
        hmac.new(
            b"SECding-secret", f"{timestamp}\nSECding-secret".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert unquote(ding.query["sign"]) == expected or ding.query["sign"] == expected
    feishu = got["feishu"]
    assert feishu.json["msg_type"] == "text" and "min_items" in feishu.json["content"]["text"]
    key = f"{feishu.json['timestamp']}\nfeishu-secret".encode()
    assert (
        feishu.json["sign"]
        == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    )
    (sender, recipients, text) = messages[0]
    mail = message_from_string(text)
    assert recipients == ["ops@example.test"] and "sample_books" in mail["Subject"]
    assert "min_items" in mail.get_payload()
    # secrets never reach the stats, the run record or the log
    dumped = json.dumps(record) + result.stderr
    for secret in (
        "webhook-secret-123",
        "wecom-key",
        "ding-token",
        "SECding-secret",
        "feishu-secret",
    ):
        assert secret not in dumped


def test_monitors_that_hold_leave_the_exit_status_alone(tmp_path, make_sample_site) -> None:
    site = make_sample_site(books=5).url
    rules = rules_with(tmp_path, "{min_items: 1, max_ban_rate: 0.5, max_item_drop: 0.9}")
    first = crawl_sample_books(tmp_path, rules, site)
    assert first.returncode == 0, first.stderr[-2000:]
    results = {r["name"]: r for r in last_run(tmp_path)["stats"]["monitors/results"]}
    assert results["max_item_drop"]["message"].startswith("skipped")  # no earlier run
    second = crawl_sample_books(tmp_path, rules, site)
    assert second.returncode == 0
    stats = last_run(tmp_path)["stats"]
    assert stats["monitors/failed"] == 0
    drop = {r["name"]: r for r in stats["monitors/results"]}["max_item_drop"]
    assert drop["ok"] is True and not drop["message"].startswith("skipped")


def test_an_alert_without_its_url_is_reported_not_sent(tmp_path, make_sample_site) -> None:
    site = make_sample_site(books=3).url
    rules = rules_with(tmp_path, "{min_items: 1000}")
    result = crawl_sample_books(
        tmp_path, rules, site, "MONITORS_ALERTS=wecom", env={"ALERT_WECOM_URL": ""}
    )
    assert result.returncode == 7
    assert (
        "alert channel wecom cannot send ($ALERT_WECOM_URL is not set): monitors_failed not sent"
        in result.stderr
    )
