"""The account pool on both of its stores (a real Redis, and the process): leases and their
expiry when a holder is killed, the rate, the daily quota, cooldowns, retirement and
reinstatement, encrypted cookies; the accounts file's errors; what the CLI and the API show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.accounts import (
    AccountPool,
    AccountsError,
    CookieVault,
    LocalAccountStore,
    RedisAccountStore,
    new_key,
)
from crawler.accounts.specs import load_accounts, load_accounts_file, parse_accounts
from crawler.accounts.state import Limits
from tests.crawler.crawl import ROOT
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer

PASSWORDS = {"ann": "ann-S3cret!", "bob": "bob-S3cret!"}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(params=["redis", "local"])
def store(request):
    if request.param == "local":
        return LocalAccountStore()
    return RedisAccountStore(request.getfixturevalue("redis_client"))


def make_pool(store, limits: Limits, *, names=("ann", "bob"), vault=None, ttl=30.0) -> AccountPool:
    entries = [
        {"name": n, "username": f"{n}@x.test", "password": PASSWORDS.get(n, "pw")} for n in names
    ]
    accounts = parse_accounts(entries, "shop", base=limits)
    return AccountPool({"shop": accounts}, store, lease_ttl=ttl, vault=vault)


def test_one_holder_per_account_unless_allowed(store):
    pool = make_pool(store, Limits())
    a, _ = pool.lease("shop")
    b, _ = pool.lease("shop")
    assert {a.account.name, b.account.name} == {"ann", "bob"}
    assert pool.lease("shop") == (None, {"busy": 2})
    pool.release(a)
    again, _ = pool.lease("shop")
    assert again.account.name == a.account.name and again.token != a.token

    shared = make_pool(store, Limits(max_processes=2), names=("cid",))
    leases = [shared.lease("shop")[0] for _ in range(3)]
    assert [lease is not None for lease in leases] == [True, True, False]
    row = shared.status("shop")[0]
    assert row["state"] == "leased" and len(row["holders"]) == 2
    assert row["holders"][0]["pid"] == os.getpid()


def test_rate_and_daily_quota(store):
    pool = make_pool(store, Limits(min_interval=0.2, daily_quota=3), names=("ann",))
    lease, _ = pool.lease("shop")
    first = pool.take(lease)
    second = pool.take(lease)
    assert first.ok and not second.ok and second.why == "rate"
    assert 0.1 < second.wait <= 0.2
    time.sleep(second.wait)
    assert pool.take(lease).ok
    time.sleep(0.2)
    assert pool.take(lease).ok
    time.sleep(0.2)
    out = pool.take(lease)
    assert (out.ok, out.why) == (False, "quota")
    row = pool.status()[0]
    assert (row["state"], row["requests_today"], row["daily_quota"]) == ("exhausted", 3, 3)
    pool.release(lease)
    assert pool.lease("shop") == (None, {"quota": 1})


def test_cooldown_grows_then_retirement_until_reinstated(store):
    pool = make_pool(store, Limits(max_bans=3, cooldown=0.3, cooldown_max=0.5), names=("ann",))
    lease, _ = pool.lease("shop")
    assert pool.report_ban(lease) == "cooling"
    row = pool.status()[0]
    assert row["state"] == "cooling" and row["bans"] == 1
    first_rest = row["cooling_until"] - time.time()
    assert 0.1 < first_rest <= 0.3 + 0.05
    assert pool.take(lease).why == "cooling"
    assert pool.lease("shop") == (None, {"cooling": 1})
    time.sleep(first_rest + 0.02)
    assert pool.take(lease).ok
    assert pool.report_ban(lease) == "cooling"
    second_rest = pool.status()[0]["cooling_until"] - time.time()
    assert second_rest > first_rest  # doubled, up to cooldown_max
    time.sleep(second_rest + 0.02)
    assert pool.report_ban(lease) == "retired"
    row = pool.status()[0]
    assert (row["state"], row["retired"], row["holders"]) == ("retired", "3 bans", [])
    assert pool.take(lease).why == "lost"
    assert pool.lease("shop") == (None, {"retired": 1})
    pool.reinstate("shop", "ann")
    lease, _ = pool.lease("shop")
    assert lease is not None and pool.status()[0]["bans"] == 0


def test_failed_logins_retire_an_account(store):
    pool = make_pool(store, Limits(max_login_failures=2), names=("ann",))
    lease, _ = pool.lease("shop")
    assert pool.report_login(lease, False) is False
    assert pool.report_login(lease, True) is False  # a success ends the run of failures
    assert pool.report_login(lease, False) is False
    assert pool.report_login(lease, False) is True
    assert pool.status()[0]["retired"] == "2 failed logins"


def test_a_killed_holder_frees_its_account_when_its_lease_expires(
    redis_server, redis_client, tmp_path
):
    script = (
        "import sys, time\n"
        "from crawler.accounts import AccountPool, RedisAccountStore\n"
        "from crawler.accounts.specs import parse_accounts\n"
        "import redis\n"
        "accounts = parse_accounts([{'name': 'ann', 'username': 'a', 'password': 'x'}], 'shop')\n"
        "store = RedisAccountStore(redis.Redis.from_url(sys.argv[1]))\n"
        "lease, _ = AccountPool({'shop': accounts}, store, lease_ttl=1.0).lease('shop')\n"
        "print('leased' if lease else 'refused', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, redis_server.url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout.readline().strip() == "leased"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        pool = make_pool(RedisAccountStore(redis_client), Limits(), names=("ann",))
        assert pool.lease("shop") == (None, {"busy": 1})  # the dead holder's lease still runs
        assert pool.status()[0]["holders"][0]["pid"] == proc.pid
        deadline = time.monotonic() + 3
        while pool.lease("shop")[0] is None:
            assert time.monotonic() < deadline, "the killed holder's lease never expired"
            time.sleep(0.1)
        assert pool.status()[0]["holders"][0]["pid"] == os.getpid()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_renewal_keeps_a_lease_and_a_lost_lease_is_reported(store):
    pool = make_pool(store, Limits(), names=("ann",), ttl=0.3)
    lease, _ = pool.lease("shop")
    time.sleep(0.2)
    assert pool.renew(lease)
    time.sleep(0.2)
    assert pool.lease("shop")[0] is None  # renewed: still held past its first expiry
    time.sleep(0.35)
    assert pool.renew(lease) is False
    assert pool.take(lease).why == "lost"


def test_cookies_are_stored_encrypted_and_dropped_on_a_ban(store, redis_client):
    key = new_key()
    pool = make_pool(store, Limits(), names=("ann",), vault=CookieVault(key))
    lease, _ = pool.lease("shop")
    cookies = [{"name": "sid", "value": "very-secret-sid", "domain": "x.test", "path": "/"}]
    pool.save_cookies(lease.account, cookies)
    blob = store.get_blob(pool.key(lease.account) + ":cookies")
    assert blob and b"very-secret-sid" not in blob
    assert pool.cookies(lease.account) == cookies
    other = make_pool(store, Limits(), names=("ann",), vault=CookieVault(new_key()))
    assert other.cookies(lease.account) is None  # another deployment's key reads nothing
    pool.report_ban(lease)
    assert pool.cookies(lease.account) is None
    if isinstance(store, RedisAccountStore):
        dump = b"".join(redis_client.get(k) or b"" for k in redis_client.keys("*"))
        assert b"very-secret-sid" not in dump and key.encode() not in dump


def test_secrets_never_print():
    accounts = parse_accounts([{"name": "ann", "username": "a", "password": PASSWORDS["ann"]}], "p")
    pool = AccountPool({"p": accounts}, LocalAccountStore())
    lease, _ = pool.lease("p")
    pool.take(lease)
    shown = repr(accounts) + str(accounts[0].password) + json.dumps(pool.status())
    assert PASSWORDS["ann"] not in shown
    assert accounts[0].form_value("password") == PASSWORDS["ann"]  # only where the form needs it


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_accounts_file_errors_name_file_and_line(tmp_path):
    env = {"ANN_PW": "x"}
    good = write(
        tmp_path / "a.yaml",
        "shop:\n  - {name: ann, username: a, password_env: ANN_PW, daily_quota: 5, per_minute: 30}\n",
    )
    [ann] = load_accounts_file(good, environ=env)["shop"]
    assert (ann.limits.daily_quota, ann.limits.min_interval) == (5, 2.0)
    cases = {
        "shop:\n  - {name: ann, username: a, password_env: NOPE}\n": "a.yaml:2: account 'ann' of pool 'shop': environment variable 'NOPE' is not set",
        "shop:\n  - {name: ann, username: a, password_env: ANN_PW}\n  - {name: ann, username: b, password: y}\n": "a.yaml:3: account 'ann' of pool 'shop': the name is used twice",
        "shop:\n  - name: ann\n    username: a\n    password: y\n    daily_quota: -1\n": "a.yaml:5: account 'ann' of pool 'shop': daily_quota must be a number >= 0",
        "shop: {name: ann}\n": "a.yaml:1: pool 'shop' must be a list of accounts",
        "shop:\n  - [oops\n": "a.yaml:3: invalid YAML",
    }
    for text, message in cases.items():
        with pytest.raises(AccountsError) as caught:
            load_accounts_file(write(tmp_path / "a.yaml", text), environ=env)
        assert str(caught.value).startswith(f"{tmp_path / message}"), str(caught.value)
        assert "\n" not in str(caught.value)


def test_accounts_from_the_environment_and_never_from_the_rules(tmp_path):
    environ = {
        "ACCOUNTS_POOL_SHOP": json.dumps([{"name": "ann", "username": "a", "password_env": "P"}]),
        "P": "pw",
    }
    settings = Settings(
        {
            "ACCOUNTS_MIN_INTERVAL": 1.5,
            "ACCOUNTS_DAILY_QUOTA": 7,
            "ACCOUNTS_MAX_PROCESSES": 1,
            "ACCOUNTS_MAX_BANS": 2,
            "ACCOUNTS_MAX_LOGIN_FAILURES": 2,
            "ACCOUNTS_COOLDOWN": 1.0,
            "ACCOUNTS_COOLDOWN_MAX": 9.0,
        }
    )
    [ann] = load_accounts(settings, environ)["shop"]
    assert (ann.limits.min_interval, ann.limits.daily_quota) == (1.5, 7)
    rules = tmp_path / "rules"
    rules.mkdir()
    inside = write(rules / "accounts.yaml", "shop: []\n")
    settings.set("ACCOUNTS_FILE", str(inside))
    settings.set("RULES_DIR", str(rules))
    with pytest.raises(AccountsError, match="inside RULES_DIR"):
        load_accounts(settings, {})
    with pytest.raises(AccountsError, match=r"\$ACCOUNTS_POOL_SHOP: not JSON"):
        load_accounts(Settings({**settings, "ACCOUNTS_FILE": ""}), {"ACCOUNTS_POOL_SHOP": "[oops"})


def test_the_quota_day_is_the_local_date_of_its_time_zone():
    pool = AccountPool({}, LocalAccountStore(), timezone="Asia/Shanghai")
    # 2026-01-01 17:30 UTC is already 2026-01-02 in Shanghai (UTC+8)
    assert pool.day(1767288600.0) == "2026-01-02"
    with pytest.raises(AccountsError, match="unknown time zone"):
        AccountPool({}, LocalAccountStore(), timezone="Mars/Olympus")


def test_a_rule_names_a_pool_and_nothing_more():
    from crawler.rules import RuleError
    from crawler.spider.project import parse_rule

    base = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
    login = "login: {url: 'http://x.test/login', form: {u: '{account.username}'}}"
    rule = parse_rule(
        base + f"antiban:\n  sessions: {{accounts: shop, {login}}}\n", filename="r.yaml"
    )
    assert rule.crawl_settings["ACCOUNTS_POOL"] == "shop"
    for sessions, message in {
        "{accounts: shop}": "an account pool needs sessions.login",
        "{accounts: {name: ann, password: x}}": "r.yaml:4",
    }.items():
        with pytest.raises(RuleError) as caught:
            parse_rule(base + f"antiban:\n  sessions: {sessions}\n", filename="r.yaml")
        assert message in str(caught.value)


class Stats(dict):
    def inc_value(self, key: str, count: int = 1) -> None:
        self[key] = self.get(key, 0) + count


def test_a_session_bound_to_accounts_switches_on_a_ban_and_drops_stale_cookies(caplog):
    import asyncio
    from types import SimpleNamespace

    from crawler.antiban.cookie_session_accounts import SessionAccounts
    from crawler.antiban.cookie_sessions import Session

    caplog.set_level("DEBUG")
    pool = make_pool(LocalAccountStore(), Limits(cooldown=60), vault=CookieVault(new_key()))
    settings = Settings({"ACCOUNTS_WAIT_MAX": 0, "ACCOUNTS_POLL": 0.01})
    crawler = SimpleNamespace(settings=settings, stats=Stats())
    accounts = SessionAccounts(crawler, pool, "shop")
    session = Session("s0", source="login")

    asyncio.run(accounts.bind(session))
    ann = accounts.account_of(session)
    pool.save_cookies(ann, [{"name": "sid", "value": "v", "domain": "x.test", "path": "/"}])
    assert accounts.reuse_cookies(session) and session.logged_in
    accounts.banned(session, "login_redirect")  # stale cookies: dropped, log in again
    assert pool.cookies(ann) is None and not session.logged_in
    assert accounts.account_of(session) is ann and asyncio.run(accounts.grant(session))

    accounts.banned(session, "status_403")  # a ban: the account rests, the session moves on
    assert accounts.account_of(session) is None
    assert pool.status("shop")[0]["state"] == "cooling"
    asyncio.run(accounts.bind(session))
    assert accounts.account_of(session).name == "bob"
    accounts.banned(session, "status_403")
    with pytest.raises(Exception, match=r"no usable account in pool 'shop' \(2 cooling\)"):
        asyncio.run(accounts.bind(session))
    accounts.close()
    assert all(row["holders"] == [] for row in pool.status())
    stats = crawler.stats
    assert (stats["accounts/leased"], stats["accounts/bans"], stats["accounts/cookies_reused"]) == (
        2,
        2,
        1,
    )
    assert not [k for k in stats if "ann" in k or "bob" in k]  # no account in a stat's name
    assert not any(p in caplog.text for p in PASSWORDS.values()) and "@x.test" not in caplog.text


def test_more_sessions_than_free_accounts_share_the_bound_ones():
    import asyncio
    from types import SimpleNamespace

    from crawler.antiban.cookie_session_accounts import NoAccount, SessionAccounts
    from crawler.antiban.cookie_sessions import Session

    pool = make_pool(LocalAccountStore(), Limits(max_bans=1), names=("ann",))
    settings = Settings({"ACCOUNTS_WAIT_MAX": 5, "ACCOUNTS_POLL": 0.01})
    accounts = SessionAccounts(SimpleNamespace(settings=settings, stats=Stats()), pool, "shop")
    first, second = Session("s0", source="login"), Session("s1", source="login")
    assert asyncio.run(accounts.bind(first)) is first
    assert asyncio.run(accounts.bind(second)) is first  # no account for s1: s0's serves
    accounts.banned(first, "status_403")  # ann retired: nothing left to wait for
    with pytest.raises(NoAccount, match=r"\(1 retired\)"):
        asyncio.run(accounts.bind(second))
