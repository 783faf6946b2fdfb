"""Tokens shared by processes: one renewal per token at a time (SQLite's write transaction,
Redis's SET NX lock), the others waiting and taking its result. Two keepers stand for two crawl
processes (each has its own memory); the Authlib server rotates refresh tokens, so a second
renewal with the same refresh token would fail with invalid_grant."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from crawler.oauth.redis_token_store import RedisTokenStore
from crawler.oauth.token_stores import LockTimeout, SqliteTokenStore
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer

from .support import client_for, keeper_for, standard_spec


@pytest.fixture
def redis_url(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path).start()
    yield server.url
    server.stop()


def _authorized(standard, store):
    """A stored credential, as ``scrapy auth authorize`` leaves it."""
    client = client_for("local", standard_spec(standard.url, grant="refresh_token"))
    from crawler.oauth.authorize import authorize

    from .support import person_opening

    token = authorize(client, store, credential="default", show=person_opening([]), timeout=20)
    return client, token


def _stores(kind, tmp_path, redis_url_factory):
    if kind == "sqlite":
        return SqliteTokenStore(tmp_path / "oauth.db"), SqliteTokenStore(tmp_path / "oauth.db")
    url = redis_url_factory()
    return RedisTokenStore.from_uri(url, lock_timeout=10), RedisTokenStore.from_uri(
        url, lock_timeout=10
    )


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_sharing_a_credential_renew_it_once(kind, standard, tmp_path, request):
    first_store, second_store = _stores(
        kind, tmp_path, lambda: request.getfixturevalue("redis_url")
    )
    client, token = _authorized(standard, first_store)
    keepers = [
        keeper_for(
            client.provider,
            client_for("local", standard_spec(standard.url, grant="refresh_token")),
            s,
        )
        for s in (first_store, second_store, first_store, second_store)
    ]
    for keeper in keepers:
        assert keeper.token() == token  # from the store, nothing renewed
    with ThreadPoolExecutor(len(keepers)) as pool:  # every "process" is told the token expired
        renewed = list(pool.map(lambda k: k.renew(token.label), keepers))
    assert len({t.access_token for t in renewed}) == 1 and renewed[0] != token
    assert standard.server.state["refreshes"] == 1
    assert sum(k.counts["refreshed"] for k in keepers) == 1
    assert sum(k.counts["from_store"] for k in keepers) == len(keepers) * 2 - 1


def test_a_token_near_its_expiry_is_renewed_before_it_expires(make_server, tmp_path):
    from tests.oauth_servers.standard import StandardServer

    server = make_server(StandardServer, auto_approve="alice", access_ttl=100)
    store = SqliteTokenStore(tmp_path / "oauth.db")
    client, token = _authorized(server, store)
    now = [token.obtained_at]
    keeper = keeper_for(client.provider, client, store, margin=30, clock=lambda: now[0])
    assert keeper.token() == token
    now[0] += 69  # 31 s left: still fresh
    assert keeper.token() == token and server.server.state["refreshes"] == 0
    now[0] += 2  # 29 s left: within the margin
    assert keeper.token() != token and server.server.state["refreshes"] == 1


def test_a_held_sqlite_lock_makes_waiters_time_out_not_hang(tmp_path):
    holder = SqliteTokenStore(tmp_path / "oauth.db")
    waiter = SqliteTokenStore(tmp_path / "oauth.db", lock_timeout=0.2)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.exclusive("p/c"):
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(5)
    try:
        with pytest.raises(LockTimeout), waiter.exclusive("p/c"):
            pass
    finally:
        release.set()
        thread.join()


def test_a_redis_lock_of_a_dead_process_expires(redis_url):
    # the lock expires after 0.3 s; waiting up to 3 s for it leaves room on a busy machine
    # (waiting exactly as long as the lock lives raced: LockTimeout in a loaded CI run)
    store = RedisTokenStore.from_uri(redis_url, lock_timeout=3.0)
    store.server.set("oauth:lock:p/c", "someone-dead", px=300)  # left by a killed process
    with store.exclusive("p/c") as tx:
        assert tx.get() is None
    assert store.server.get("oauth:lock:p/c") is None


def test_the_sqlite_file_is_private(tmp_path):
    SqliteTokenStore(tmp_path / "sub" / "oauth.db")
    assert (tmp_path / "sub" / "oauth.db").stat().st_mode & 0o077 == 0
