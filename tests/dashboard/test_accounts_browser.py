"""The Accounts page in Debian's Chromium against a real ``scrapy serve`` whose account pools
live in a real Redis: an accounts file of three accounts in a temporary directory, put in their
states through the pool's own API as crawls would (one leased and used, with its cookies
stored; one cooling down after a ban; one retired). The page shows each state, the filters
narrow it (and live in the address), no password, username or cookie value is in the page or in
any API answer it read, an admin's Reinstate makes the retired account free, and a change made
while the page is open shows up by itself. A viewer sees no Reinstate; a pool that is not
shared has its note."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from scrapy.settings import Settings

from crawler.accounts import AccountPool, new_key, pool_from_settings
from tests.dashboard.service import Service, Workspace
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer

PASSWORDS = {
    "ANN_PW": "ann-Pa55-w0rd-x1",
    "BOB_PW": "bob-Pa55-w0rd-x2",
    "CID_PW": "cid-Pa55-w0rd-x3",
}
USERNAMES = ["ann.secret-user@shop.test", "bob.secret-user@shop.test", "cid.secret-user@news.test"]
COOKIE = "sid-cookie-value-0f9e8d7c"
ACCOUNTS = f"""shop:
  - {{name: ann, username: "{USERNAMES[0]}", password_env: ANN_PW, daily_quota: 50}}
  - {{name: bob, username: "{USERNAMES[1]}", password_env: BOB_PW}}
news:
  - {{name: cid, username: "{USERNAMES[2]}", password_env: CID_PW, max_bans: 1}}
"""
SECRETS = [*PASSWORDS.values(), *USERNAMES, COOKIE, "secret-user"]
LEASES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("accounts"), "http://127.0.0.1:9")


@pytest.fixture(scope="module")
def deployment(workspace, redis_url) -> dict[str, Any]:
    path = workspace.root / "accounts.yaml"
    path.write_text(ACCOUNTS, encoding="utf-8")
    env = {**PASSWORDS, "CRAWLER_ACCOUNTS_KEY": new_key()}
    return {"settings": {"ACCOUNTS_FILE": str(path), "ACCOUNTS_REDIS_URL": redis_url}, "env": env}


@pytest.fixture(scope="module")
def pool(deployment) -> Iterator[AccountPool]:
    """The pool as crawls left it: ann leased, used twice, its cookies stored; bob cooling down
    after a ban; cid retired by its one ban."""
    from crawler.settings import __dict__ as project

    settings = Settings({k: v for k, v in project.items() if k.isupper()})
    settings.setdict(deployment["settings"], priority="cmdline")
    pool = pool_from_settings(settings, deployment["env"])
    ann, _ = pool.lease("shop")
    assert ann.account.name == "ann" and pool.take(ann).ok and pool.take(ann).ok
    pool.save_cookies(ann.account, [{"name": "sid", "value": COOKIE, "domain": "shop.test"}])
    bob, _ = pool.lease("shop")
    assert pool.report_ban(bob) == "cooling"
    pool.release(bob)
    cid, _ = pool.lease("news")
    assert pool.report_ban(cid) == "retired"
    LEASES["ann"] = ann  # released while the page is open
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def service(workspace, deployment, pool) -> Iterator[Service]:
    values = [arg for k, v in deployment["settings"].items() for arg in ("-s", f"{k}={v}")]
    with Service(workspace, *values, env=deployment["env"]) as svc:
        yield svc


def account(page, pool: str, name: str):
    return page.locator(f'section[data-pool="{pool}"] tr[data-account="{name}"]')


def test_each_state_is_shown_filtered_and_reinstated_without_a_secret(page, service, pool):
    answers: list[str] = []

    def keep(route: Any) -> None:  # every API answer the page reads, kept whole
        answer = route.fetch()
        answers.append(f"{route.request.url} {answer.text()}")
        route.fulfill(response=answer)

    page.route("**/api/**", keep)
    page.clock.install()  # the page's timers, moved on by the test instead of waited for
    page.goto(service.url + "/")
    page.locator("#token").fill(service.token)  # an admin's token (no sign-in here)
    page.locator("#token").press("Enter")
    page.locator('nav a[href="#/accounts"]').click()
    expect(page.locator("h1")).to_have_text("Accounts")
    expect(page.locator("#accounts-not-shared")).to_be_hidden()

    ann, bob, cid = (
        account(page, "shop", "ann"),
        account(page, "shop", "bob"),
        account(page, "news", "cid"),
    )
    host = f"{pool.holder['host']}:{pool.holder['pid']}"
    expect(ann.locator(".account-state .badge")).to_have_text("leased")
    expect(ann.locator(".account-detail")).to_have_text(f"by {host}")
    expect(ann.locator(".account-today")).to_have_text("2 / 50")
    assert ann.locator("meter").evaluate("m => [m.value, m.max]") == [2, 50]
    expect(ann.locator(".account-last")).to_have_text(re.compile(r"^\d+ s ago$"))
    expect(ann.locator(".account-cookies")).to_have_text("stored")
    expect(ann.locator(".account-holders")).to_have_text(
        re.compile(rf"^{re.escape(host)} \d+ s ago$")
    )
    expect(ann.locator(".account-reinstate")).to_have_count(0)
    expect(bob.locator(".account-state .badge")).to_have_text("cooling down")
    expect(bob.locator(".account-detail")).to_have_text(re.compile(r"^until .+ \([45] min left\)$"))
    expect(bob.locator(".account-bans")).to_have_text("1")
    expect(bob.locator(".account-cookies")).to_have_text("none")
    expect(bob.locator(".account-today")).to_have_text("0 (no quota)")
    expect(cid.locator(".account-state .badge")).to_have_text("retired")
    expect(cid.locator(".account-detail")).to_have_text(re.compile(r"^1 ban · \d+ s ago$"))
    # pools by name, retired and cooling down first
    assert page.locator("section[data-pool] tbody tr").evaluate_all(
        "rows => rows.map(r => r.closest('section').dataset.pool + '/' + r.dataset.account)"
    ) == ["news/cid", "shop/bob", "shop/ann"]

    pool.release(LEASES["ann"])  # a crawl ending while the page is open: read again by itself
    page.clock.fast_forward(5000)  # 5 s after the page was read
    expect(ann.locator(".account-state .badge")).to_have_text("free")
    expect(ann.locator(".account-holders")).to_have_text("nobody")
    page.locator("#accounts-state").select_option("retired")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(cid).to_be_visible()
    assert page.evaluate("location.hash") == "#/accounts?state=retired"
    page.locator("#accounts-state").select_option("")
    page.locator("#accounts-pool").select_option("shop")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("section[data-pool]")).to_have_attribute("data-pool", "shop")
    page.reload()  # the filters come back from the address
    expect(page.locator("tbody tr")).to_have_count(2)
    page.locator("#accounts-pool").select_option("")
    expect(page.locator("tbody tr")).to_have_count(3)

    html = page.content()
    assert any("/api/accounts" in a for a in answers), answers
    for secret in SECRETS:
        assert secret not in html, secret
        assert not any(secret in a for a in answers), secret

    cid.locator(".account-reinstate").click()
    expect(page.locator("#accounts-notice")).to_have_text(
        "news/cid reinstated: its bans and failed logins are forgotten."
    )
    expect(cid.locator(".account-state .badge")).to_have_text("free")
    expect(cid.locator(".account-bans")).to_have_text("0")
    assert pool.status("news")[0]["state"] == "free"

    page.locator("#language").select_option("zh")
    expect(page.locator("h1")).to_have_text("账号池")
    expect(bob.locator(".account-reinstate")).to_have_text("恢复启用")
    page.locator("#language").select_option("en")
    page.unroute_all(behavior="ignoreErrors")  # a read of the page's may be in flight


def test_reads_back_off_after_failures(page, service):
    page.clock.install()
    page.goto(service.url + "/#/accounts")
    expect(account(page, "shop", "bob")).to_be_visible()
    reads: list[str] = []

    def away(route: Any) -> None:
        reads.append(route.request.url)
        route.fulfill(status=503, json={"detail": "the account pools' Redis cannot be read"})

    page.route("**/api/accounts", away)
    page.clock.pause_at(page.evaluate("Date.now()") + 2000)  # the page's time stands still
    page.clock.run_for(3100)  # 5 s after the page was read: read again, refused
    expect(page.locator("#accounts-notice")).to_contain_text("503: the account pools' Redis")
    assert len(reads) == 1
    page.clock.run_for(5000)  # after a failure, 10 s to the next read
    page.wait_for_timeout(300)
    assert len(reads) == 1
    page.clock.run_for(5100)
    expect(account(page, "shop", "bob")).to_be_visible()  # what was read stays shown
    page.wait_for_timeout(300)
    assert len(reads) == 2
    page.unroute("**/api/accounts")  # the service answers again: the next read, 20 s on
    page.clock.run_for(20_100)
    expect(page.locator("#accounts-notice")).to_have_text("")
    expect(account(page, "shop", "bob")).to_be_visible()


def test_a_viewer_sees_no_reinstate_and_a_pool_not_shared_has_its_note(page, service):
    viewer = {"signin": True, "providers": [], "person": {"id": "sub:x", "name": "Bob",
                                                          "role": "viewer"}}  # fmt: skip
    page.route(  # the session as the service gives it to a signed-in viewer
        "**/api/auth/session",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(viewer)),
    )
    page.goto(service.url + "/#/accounts")
    expect(account(page, "shop", "bob").locator(".account-state")).to_contain_text("cooling")
    expect(page.locator("th", has_text="Actions")).to_have_count(0)
    expect(page.locator(".account-reinstate")).to_have_count(0)

    local = {"shared": False, "now": 0, "pools": {"shop": [{"account": "ann"}]}}
    page.route(  # what a service without Redis answers
        "**/api/accounts",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(local)),
    )
    page.reload()
    expect(page.locator("#accounts-not-shared")).to_be_visible()
    expect(account(page, "shop", "ann").locator(".account-state .badge")).to_have_text("not shared")
    expect(page.locator("section[data-pool]")).to_have_count(1)
    page.unroute_all(behavior="ignoreErrors")
