"""What admins see of the account pools: ``GET /api/accounts`` and ``scrapy accounts``
(list, reinstate, add, check, keygen), over a real Redis; never a credential."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.accounts import new_key, pool_from_settings
from crawler.commands.accounts import Command
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer

PASSWORDS = {"ANN_PW": "ann-Pa55-word", "BOB_PW": "bob-Pa55-word", "CID_PW": "cid-Pa55-word"}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def deployment(tmp_path: Path, redis_url: str, monkeypatch) -> dict[str, str]:
    for var, value in PASSWORDS.items():
        monkeypatch.setenv(var, value)
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "shop:\n"
        "  - {name: ann, username: ann@shop.test, password_env: ANN_PW, daily_quota: 50}\n"
        "  - {name: bob, username: bob@shop.test, password_env: BOB_PW}\n"
        "news:\n"
        "  - {name: cid, username: cid@news.test, password_env: CID_PW}\n"
    )
    import redis

    redis.Redis.from_url(redis_url).flushall()
    return {
        "ACCOUNTS_FILE": str(path),
        "ACCOUNTS_REDIS_URL": redis_url,
        "ACCOUNTS_MAX_BANS": "1",
    }


def used_pool(values: dict[str, str]):
    """The pool as crawls left it: ann leased and used twice, bob retired by a ban."""
    from crawler.settings import __dict__ as project

    settings = Settings({k: v for k, v in project.items() if k.isupper()})
    settings.setdict(values, priority="cmdline")
    pool = pool_from_settings(settings)
    ann, _ = pool.lease("shop")
    assert pool.take(ann).ok and pool.take(ann).ok
    bob, _ = pool.lease("shop")
    assert pool.report_ban(bob) == "retired"
    return pool, settings


def run_command(settings: Settings, *args: str, **options: object) -> int:
    command = Command()
    command.settings = settings
    defaults = {
        "json": False,
        "username": None,
        "password_env": None,
        "daily_quota": None,
        "min_interval": None,
        "max_processes": None,
    }
    command.run(list(args), argparse.Namespace(**{**defaults, **options}))
    return getattr(command, "exitcode", 0)


def test_the_api_lists_accounts_and_their_state_without_credentials(tmp_path, deployment):
    from tests.crawler.service.conftest import make_service

    pool, _ = used_pool(deployment)
    pool.close()
    service = make_service("sqlite", tmp_path, **deployment)
    try:
        svc = next(service)
        answer = svc.client.get("/api/accounts", headers=svc.auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        one = svc.client.get("/api/accounts", params={"pool": "nope"}, headers=svc.auth)
        assert one.status_code == 404
    finally:
        service.close()
    assert body["shared"] is True and set(body["pools"]) == {"shop", "news"}
    shop = {row["account"]: row for row in body["pools"]["shop"]}
    assert shop["ann"]["state"] == "leased" and shop["ann"]["requests_today"] == 2
    assert shop["ann"]["daily_quota"] == 50 and shop["ann"]["holders"][0]["host"]
    assert (shop["bob"]["state"], shop["bob"]["retired"], shop["bob"]["bans"]) == (
        "retired",
        "1 ban",
        1,
    )
    assert body["pools"]["news"][0]["state"] == "free"
    text = json.dumps(body)
    assert not any(p in text for p in PASSWORDS.values()) and "@shop.test" not in text


def test_the_command_lists_reinstates_adds_and_checks(deployment, capsys):
    pool, settings = used_pool(deployment)
    assert run_command(settings, "list", "shop") == 0
    listed = capsys.readouterr().out
    assert "shop/bob  retired (1 ban)" in listed and "shop/ann  leased by" in listed
    assert not any(p in listed for p in PASSWORDS.values())

    assert run_command(settings, "reinstate", "bob") == 0
    assert "shop/bob reinstated" in capsys.readouterr().out
    assert pool.status("shop")[1]["state"] == "free"
    assert run_command(settings, "reinstate", "nobody") == 2
    assert "account 'nobody' is in no pool" in capsys.readouterr().err

    options = {"username": "dee@shop.test", "password_env": "DEE_PW", "daily_quota": 9}
    assert run_command(settings, "add", "shop", "dee", **options) == 0
    text = Path(deployment["ACCOUNTS_FILE"]).read_text()
    assert '"name": "dee"' in text and "DEE_PW" in text
    assert run_command(settings, "add", "shop", "dee", **options) == 2
    assert "already has an account 'dee'" in capsys.readouterr().err
    # the new entry's variable is not set here: check says so, naming the file's line
    assert run_command(settings, "check") == 2
    assert "accounts.yaml:4: account 'dee' of pool 'shop'" in capsys.readouterr().err

    assert run_command(settings, "keygen") == 0
    key = capsys.readouterr().out.strip()
    settings.set("ACCOUNTS_FILE", "", priority="cmdline")
    settings.set("ACCOUNTS_COOKIE_KEY_ENV", "THE_KEY", priority="cmdline")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("THE_KEY", key)
        assert run_command(settings, "check") == 0
        assert "cookies kept encrypted" in capsys.readouterr().out
        env.setenv("THE_KEY", new_key()[:-4])
        assert run_command(settings, "check") == 2
        err = capsys.readouterr().err
        assert "$THE_KEY: not a Fernet key" in err and key[:10] not in err
    pool.close()


def test_an_admin_reinstates_through_the_api_an_editor_cannot(tmp_path, deployment):
    from crawler.service.api_tokens import TokenFile
    from tests.crawler.service.conftest import make_service

    pool, _ = used_pool(deployment)
    service = make_service("sqlite", tmp_path, **deployment)
    try:
        svc = next(service)
        admin, _ = TokenFile(tmp_path / "secrets" / "tokens.json").create("boss", role="admin")
        boss = {"Authorization": f"Bearer {admin}"}
        url = "/api/accounts/shop/bob/reinstate"
        assert svc.client.post(url).status_code == 401
        refused = svc.client.post(url, headers=svc.auth)  # an editor's token
        assert refused.status_code == 403 and "admin role" in refused.json()["detail"]
        assert pool.status("shop")[1]["state"] == "retired"
        missing = svc.client.post("/api/accounts/shop/nobody/reinstate", headers=boss)
        assert missing.status_code == 404 and "no account 'nobody'" in missing.json()["detail"]
        done = svc.client.post(url, headers=boss)
        assert done.status_code == 200, done.text
        listed = svc.client.get("/api/accounts", params={"pool": "shop"}).json()
    finally:
        service.close()
    body = done.json()
    assert body["pool"] == "shop" and body["account"]["account"] == "bob"
    assert (body["account"]["state"], body["account"]["bans"]) == ("free", 0)
    assert body["account"]["cookies"] is False and pool.status("shop")[1]["state"] == "free"
    assert {row["account"]: row["state"] for row in listed["pools"]["shop"]} == {
        "ann": "leased",
        "bob": "free",
    }
    assert listed["shared"] is True and listed["now"] > 0
    pool.close()


def test_reinstating_a_pool_that_is_not_shared_is_refused(tmp_path, deployment):
    from crawler.service.api_tokens import TokenFile
    from tests.crawler.service.conftest import make_service

    local = {**deployment, "ACCOUNTS_REDIS_URL": "", "REDIS_URL": ""}
    service = make_service("sqlite", tmp_path, **local)
    try:
        svc = next(service)
        admin, _ = TokenFile(tmp_path / "secrets" / "tokens.json").create("boss", role="admin")
        listed = svc.client.get("/api/accounts").json()
        refused = svc.client.post(
            "/api/accounts/shop/bob/reinstate", headers={"Authorization": f"Bearer {admin}"}
        )
    finally:
        service.close()
    assert listed["shared"] is False and listed["pools"]["shop"] == [
        {"account": "ann"},
        {"account": "bob"},
    ]
    assert refused.status_code == 409 and "not shared" in refused.json()["detail"]
