"""The Freshness and Alerts pages in Debian's Chromium against a real ``scrapy serve`` with
sign-in (the loopback OpenID Connect server: Alice is an admin, Bob a viewer) over a store in a
temporary directory: a source whose items were all first seen a month ago is listed first,
failing with its message, a fresh one is fresh; an admin adds a webhook channel naming the
environment variable that holds a loopback receiver's URL and a route to it, both kept in the
ALERTS_FILE (mode 0600) and listed after a reload, and "Send test" reaches the receiver; a
viewer sees the same page without a control that changes anything. Every file the service
writes (ALERTS_FILE, ALERTS_STATE, STORE_URI) is in the test's temporary directory."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import yaml
from playwright.sync_api import expect
from scrapy.settings import Settings

from crawler import settings as project_settings
from crawler.monitors import AlertDesk, Subject
from crawler.store import open_store
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread
from tests.dashboard.browser import VIEWPORT, watch_csp
from tests.dashboard.service import Service, Workspace
from tests.oauth_servers.standard import Client, StandardServer

OIDC = Client("dashboard", "oidc-client-secret-alerts-0123")
HOOK_ENV = "OPS_HOOK_URL"  # the variable the admin names; its value, the URL, never shown
RULE = """name: {name}
description: A source of the freshness board.
tags: [{tags}]
args:
  site: http://127.0.0.1:9
item:
  collection: {name}
start:
  - url: "{{site}}/"
    page: notices
pages:
  notices:
    fields:
      title: {{css: "h1::text"}}
{monitors}"""
FRESHNESS = "monitors:\n  min_new_items: {count: 1, within: 1d}\n"
DATED = FRESHNESS + "  max_newest_age: {field: published, age: 7d}\n"
STALE_DAYS = 30
TODAY = datetime.now(UTC).date().isoformat()  # the fresh item's publication date


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    server = ServerThread(HttpReceiver())
    got = server.start()
    yield got
    server.stop()


@pytest.fixture(scope="module")
def provider() -> Iterator[StandardServer]:
    with StandardServer(clients=[OIDC]) as standard:
        yield standard


def alert_settings(root) -> dict[str, str]:
    return {"ALERTS_FILE": str(root / "alerts.yaml"), "ALERTS_STATE": str(root / "alerts.sqlite")}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """Three rules: stale_news (items first seen a month ago), fresh_news (an item published
    today, stored just now) and plain_site (no freshness monitor), written through the store;
    a check failing on the alert desk."""
    workspace = Workspace(tmp_path_factory.mktemp("alerts"), "http://127.0.0.1:9")
    workspace.add_rule(
        "stale_news", RULE.format(name="stale_news", tags="gov, news", monitors=FRESHNESS)
    )
    workspace.add_rule("fresh_news", RULE.format(name="fresh_news", tags="news", monitors=DATED))
    workspace.add_rule("plain_site", RULE.format(name="plain_site", tags="", monitors=""))
    store = open_store(workspace.store_uri)
    store.open()
    try:
        then = (datetime.now(UTC) - timedelta(days=STALE_DAYS, hours=1)).isoformat()
        with mock.patch("crawler.store.sqlite.utc_now_iso", return_value=then):
            items = [
                {"url": f"/n/{i}", "title": f"notice {i}", "_rule": "stale_news"} for i in range(3)
            ]
            store.upsert_many("stale_news", items, ("url",))
        fresh = {"url": "/n/1", "title": "new", "published": TODAY, "_rule": "fresh_news"}
        store.upsert_many("fresh_news", [fresh], ("url",))
        store.record_run(
            {
                "run_id": "run-stale-1",
                "rule": "stale_news",
                "status": "finished",
                "started_at": then,
                "finished_at": then,
                "items": 3,
            }
        )
    finally:
        store.close()
    settings = Settings()
    settings.setmodule(project_settings)
    settings.setdict(alert_settings(workspace.root), priority="cmdline")
    AlertDesk(settings).report(
        Subject("stale_news", tags=("gov", "news")),
        [{"name": "min_new_items", "ok": False, "message": "0 new item(s) in the last 1d"}],
        "[crawler] stale_news: stale",
        {"event": "freshness"},
    )
    return workspace


@pytest.fixture(scope="module")
def service(workspace, provider, receiver) -> Iterator[Service]:
    secrets = workspace.root / "secrets"
    secrets.mkdir()
    roles = secrets / "roles.yaml"
    people = [
        {"id": "group:sso:admins", "role": "admin"},
        {"id": "group:sso:viewers", "role": "viewer"},
    ]
    roles.write_text(yaml.safe_dump({"people": people}), encoding="utf-8")
    sso = {
        "issuer": provider.url,
        "label": "Company SSO",
        "client_id": OIDC.client_id,
        "client_secret_env": "ALERTS_OIDC_SECRET",
    }
    settings = {
        **alert_settings(workspace.root),
        "ALERT_CHANNELS": json.dumps({"oncall": {"type": "wecom", "url_env": "ONCALL_WECOM_URL"}}),
        "SIGNIN_PROVIDERS": json.dumps({"sso": sso}),
        "SIGNIN_ROLES_FILE": roles,
        "SIGNIN_SESSIONS_FILE": secrets / "sessions.db",
        "SIGNIN_SECRET_FILE": secrets / "session.key",
    }
    args = [a for name, value in settings.items() for a in ("-s", f"{name}={value}")]
    env = {"ALERTS_OIDC_SECRET": OIDC.client_secret, HOOK_ENV: f"{receiver.url}/ops-hook"}
    with Service(workspace, *args, env=env) as svc:
        yield svc


@pytest.fixture
def open_page(browser, service, provider):
    """``open_page(person, where)``: a fresh page signed in as ``person`` on ``#/where``;
    script errors, CSP violations and requests to anything but the service and the provider
    fail the test."""
    allowed = (service.url + "/", "data:", f"{provider.url}/")
    contexts, problems = [], []

    def make(person: str, where: str):
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        watch_csp(page, problems)
        page.on("request", lambda r: None if r.url.startswith(allowed) else problems.append(r.url))
        page.set_default_timeout(15_000)
        page.goto(f"{service.url}/#/{where}")
        page.get_by_role("link", name="Sign in with Company SSO").click()
        page.get_by_label("Person").select_option(person)
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#person-role")).to_have_text(
            {"alice": "admin", "bob": "viewer"}[person]
        )
        expect(page).to_have_url(re.compile(rf"#/{where}$"))  # back on the page asked for
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


def test_the_stale_source_is_listed_first_failing_and_the_fresh_one_fresh(open_page):
    page = open_page("alice", "freshness")
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Freshness")
    rows = page.locator("#fresh-table tbody tr")
    expect(rows).to_have_count(3)
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.rule)") == [
        "stale_news",
        "fresh_news",
        "plain_site",
    ]
    stale = page.locator('#fresh-table tr[data-rule="stale_news"][data-status="failing"]')
    expect(stale.locator(".fresh-status")).to_have_text("failing")
    expect(stale.locator('.fresh-problems li[data-check="min_new_items"]')).to_contain_text(
        "0 new item(s) in the last 1d, below 1; the last new item was first seen"
    )
    last = stale.locator(".fresh-last time")
    expect(last).to_have_text(f"{STALE_DAYS} d ago")
    expect(last).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"))
    expect(stale.locator(".fresh-new")).to_have_text("0 in 1 d")
    expect(stale.locator(".fresh-run")).to_contain_text("finished")
    expect(stale.locator(".fresh-run a")).to_have_attribute("href", "#/runs/run-stale-1")
    expect(stale.locator("th a")).to_have_attribute("href", "#/rules/stale_news")

    fresh = page.locator('#fresh-table tr[data-rule="fresh_news"][data-status="ok"]')
    expect(fresh.locator(".fresh-status")).to_have_text("fresh")
    expect(fresh.locator(".fresh-last time")).to_have_text(re.compile(r"^\d+ (s|min) ago$"))
    expect(fresh.locator(".fresh-new")).to_have_text("1+ in 1 d")
    expect(fresh.locator(".fresh-newest")).to_contain_text(f"published {TODAY}")
    expect(fresh.locator(".fresh-newest time").first).to_have_attribute(
        "datetime", re.compile(TODAY)
    )
    expect(fresh.locator(".fresh-problems")).to_have_text("—")
    expect(fresh.locator(".fresh-run")).to_have_text("never run")
    plain = page.locator('#fresh-table tr[data-rule="plain_site"][data-status="unchecked"]')
    expect(plain.locator(".fresh-problems")).to_have_text("no freshness monitor")
    expect(page.locator('#fresh-counts [data-status="failing"]')).to_have_text("1 failing")

    # a tag filters the board, and the filter is in the address
    stale.locator('a.pill[data-tag="gov"]').click()
    expect(page).to_have_url(re.compile(r"#/freshness\?tag=gov$"))
    expect(rows).to_have_count(1)
    expect(page.locator("#fresh-tag")).to_have_value("gov")
    page.locator("#fresh-tag").select_option("news")
    expect(rows).to_have_count(2)
    page.locator("#language").select_option("zh")
    expect(stale.locator(".fresh-status")).to_have_text("未通过")
    expect(stale.locator(".fresh-last time")).to_have_text(f"{STALE_DAYS} 天前")
    page.locator("#language").select_option("en")


def test_an_admin_adds_a_channel_and_a_route_and_sends_a_test(
    open_page, service, receiver, workspace
):
    page = open_page("alice", "alerts")
    channels = page.locator("#channels-table tbody")
    oncall = channels.locator('tr[data-channel="oncall"][data-source="settings"]')
    expect(oncall.locator(".channel-problem")).to_have_text("$ONCALL_WECOM_URL is not set")
    expect(oncall.locator(".edit-channel, .remove-channel")).to_have_count(0)
    expect(channels.locator('tr[data-channel="webhook"][data-source="builtin"]')).to_be_visible()
    failing = page.locator('#failing-table tr[data-subject="rule:stale_news"]')
    expect(failing).to_contain_text("min_new_items")
    expect(page.locator('#alerts-defaults [data-fact="dedup"] dd')).to_have_text("1 h")

    form = page.locator("#channel-form")
    form.locator("#channel-name").fill("ops")
    form.locator("#channel-type").select_option("webhook")
    form.locator("#channel-url-env").fill("ops_hook_url")  # a value, not a variable's name
    form.locator("#channel-save").click()
    expect(form.locator("#channel-error")).to_contain_text(
        "url_env names an environment variable (A-Z, 0-9, _), not a value"
    )
    form.locator("#channel-url-env").fill(HOOK_ENV)
    form.locator("#channel-quiet-mode").select_option("never")
    form.locator("#channel-save").click()
    expect(page.locator("#alerts-notice")).to_have_text("Channel ops saved.")
    ops = channels.locator('tr[data-channel="ops"][data-source="admin"]')
    expect(ops).to_have_attribute("data-ready", "true")
    expect(ops.locator(".url-env")).to_have_text(f"${HOOK_ENV}")
    expect(ops.locator(".channel-quiet")).to_have_text("never quiet")

    route = page.locator("#route-form")
    route.locator("#route-tag").fill("gov")
    route.locator("#route-add").click()
    expect(route.locator("#route-error")).to_have_text("Channels: choose at least one.")
    route.locator("#route-to").select_option(["ops"])
    route.locator("#route-add").click()
    expect(page.locator("#routes-state")).to_have_text("Routes changed: not saved yet.")
    page.locator("#routes-save").click()
    expect(page.locator("#alerts-notice")).to_have_text("Routes saved (1 added here).")

    page.reload()
    expect(ops).to_have_attribute("data-ready", "true")
    saved = page.locator('#routes-table tr[data-source="admin"]')
    expect(saved).to_have_count(1)
    expect(saved.locator(".route-match")).to_have_text("Tag gov")
    expect(saved.locator(".route-to")).to_have_text("ops")
    path = workspace.root / "alerts.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {
        "channels": {"ops": {"type": "webhook", "url_env": HOOK_ENV, "quiet_hours": ""}},
        "routes": [{"match": {"tag": "gov"}, "to": ["ops"]}],
    }
    assert receiver.url not in page.content()  # the variable is named, its value never shown

    ops.locator(".test-channel").click()
    expect(ops.locator(".test-outcome")).to_have_attribute("data-outcome", "sent")
    expect(ops.locator(".test-outcome")).to_have_text("sent")
    [got] = [r for r in receiver.requests if r.path == "/ops-hook"]
    assert got.json["event"] == "test" and got.json["title"] == "[crawler] test alert", got.json
    assert got.json["lines"] == ["sent from the dashboard by Alice"], got.json

    # a channel a route uses cannot go: the service's one-line reason
    ops.locator(".remove-channel").click()
    ops.locator(".confirm-remove").click()
    expect(page.locator("#alerts-notice")).to_have_text(
        "409: channel 'ops' is used by route(s) [1]"
    )


def test_a_viewer_reads_the_alerts_without_controls(open_page):
    page = open_page("bob", "alerts")
    expect(page.locator("#alerts-readonly")).to_be_visible()
    expect(page.locator('#channels-table tr[data-channel="webhook"]')).to_be_visible()
    expect(page.locator("#failing-table")).to_be_visible()
    for control in ("#channel-form", "#route-form", "#routes-save", "button"):
        expect(page.locator(f"main {control}")).to_have_count(0)
