"""``scrapy crawl`` of a rule with an ``auth:`` section, in a subprocess, against the loopback
OAuth servers: tokens renewed before they expire and after an "expired" answer, a refused
refresh token stopping the crawl (exit 5) with what to do, two crawls sharing one credential
renewing it once, and no secret in any log line (DEBUG), stat, item or run record."""

from __future__ import annotations

import subprocess

import pytest

from crawler.oauth.authorize import authorize
from crawler.oauth.source_tokens import Token
from crawler.oauth.token_stores import SqliteTokenStore
from tests.crawler.crawl import ROOT
from tests.oauth_servers.standard import StandardServer
from tests.oauth_servers.wechat import WeChatServer

from .crawling import crawl, crawl_command, environment, finish, leaks
from .support import (
    APP_SECRET,
    CLIENT_SECRET,
    client_for,
    person_opening,
    standard_spec,
    wechat_spec,
)

ALL_IDS = list(range(1, 41))
pytestmark = pytest.mark.timeout(180)


def authorized(tmp_path, name, spec):
    """The credential ``scrapy auth authorize`` would have stored."""
    client = client_for(name, spec)
    store = SqliteTokenStore(tmp_path / "oauth.db")
    return authorize(client, store, credential="default", show=person_opening([]), timeout=20)


def standard_secrets(server: StandardServer) -> set[str]:
    issued = server.server.tokens.values()
    return (
        {CLIENT_SECRET}
        | {t.access_token for t in issued}
        | {t.refresh_token for t in issued if t.refresh_token}
    )


def wechat_secrets(server: WeChatServer) -> set[str]:
    return {APP_SECRET} | set(server.wechat.access) | set(server.wechat.refresh)


def test_tokens_are_renewed_before_they_expire_and_never_logged(make_server, tmp_path):
    server = make_server(StandardServer, auto_approve="alice", access_ttl=3, latency=0.3)
    spec = standard_spec(server.url, grant="refresh_token")
    authorized(tmp_path, "local", spec)
    run = crawl(tmp_path, server.url, {"local": spec}, "-s", "OAUTH_REFRESH_MARGIN=2")
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(i["id"] for i in run.items) == ALL_IDS
    state = server.server.state
    assert state["refreshes"] >= 1 and state["api_rejected"] == 0  # renewed before, never refused
    assert run.stat("oauth/tokens/refreshed") == state["refreshes"]
    assert "[crawler.oauth.middleware] DEBUG" in run.log or "DEBUG" in run.log
    assert leaks(run, standard_secrets(server)) == {}


def test_an_expired_answer_renews_once_and_retries_query_tokens_stay_out_of_sight(
    make_server, tmp_path
):
    server = make_server(WeChatServer, auto_confirm=True)
    server.wechat.expire_after_uses = 3  # the provider says 42001 (in a 200 answer) after 3 uses
    spec = wechat_spec(server.url)
    authorized(tmp_path, "wx", spec)
    run = crawl(tmp_path, server.url, {"wx": spec})
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(i["id"] for i in run.items) == ALL_IDS
    state = server.wechat.state
    assert state["api_rejected"] >= 2 and state["refreshes"] == state["api_rejected"]
    assert run.stat("oauth/expired_answers") == state["api_rejected"]
    assert run.stat("oauth/retries/count") == state["api_rejected"]
    assert "access_token=" not in "".join(i["_url"] for i in run.items)
    assert "Crawled (200) <GET" in run.log  # the DEBUG lines that carried the token in their URL
    assert leaks(run, wechat_secrets(server)) == {}


@pytest.mark.parametrize("dialect", ["standard", "wechat"])
def test_a_refused_refresh_token_stops_the_crawl_with_exit_5_and_what_to_do(
    make_server, tmp_path, dialect
):
    if dialect == "standard":
        server = make_server(StandardServer)
        name, spec, refused = (
            "local",
            standard_spec(server.url, grant="refresh_token"),
            "invalid_grant",
        )
    else:
        server = make_server(WeChatServer)
        name, spec, refused = "wx", wechat_spec(server.url), "errcode 40030"
    stale = Token(
        "stale-access-token-1234", expires_at=0.0, refresh_token="revoked-refresh-token-5678"
    )
    with SqliteTokenStore(tmp_path / "oauth.db").exclusive(f"{name}/default") as tx:
        tx.put(stale)
    # eight start pages, four at a time: the requests waiting for the one renewal stop with it
    run = crawl(tmp_path, server.url, {name: spec}, "-s", "CONCURRENT_REQUESTS=4", pages="{1..8}")
    assert run.returncode == 5, run.log[-3000:]
    assert f"run `scrapy auth authorize {name}` again" in run.log and refused in run.log
    assert run.stat("oauth/stopped") == "invalid_grant"
    assert run.records[-1]["finish_reason"] == "oauth_invalid_grant"
    assert "Traceback" not in run.log and run.items == []
    state = server.server.state if dialect == "standard" else server.wechat.state
    assert state["api_requests"] == 0 and len(state["errors"]) == 1  # one try, never a loop
    assert leaks(run, {stale.access_token, stale.refresh_token, CLIENT_SECRET, APP_SECRET}) == {}


def test_two_crawls_sharing_a_credential_renew_it_once(make_server, tmp_path):
    server = make_server(StandardServer, auto_approve="alice")
    spec = standard_spec(server.url, grant="refresh_token")
    token = authorized(tmp_path, "local", spec)
    with SqliteTokenStore(tmp_path / "oauth.db").exclusive("local/default") as tx:
        tx.put(Token(token.access_token, expires_at=0.0, refresh_token=token.refresh_token))
    procs = {
        name: subprocess.Popen(
            crawl_command(tmp_path, name, server.url, {"local": spec}),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=environment(),
        )  # fmt: skip
        for name in ("first", "second")
    }
    runs = [
        finish(tmp_path, name, proc.wait(120), proc.stderr.read()) for name, proc in procs.items()
    ]
    for run in runs:
        assert run.returncode == 0, run.log[-3000:]
        assert sorted(i["id"] for i in run.items) == ALL_IDS
    assert server.server.state["refreshes"] == 1  # a second refresh would have been refused
    assert sorted(run.stat("oauth/tokens/refreshed") for run in runs) == [0, 1]
    assert sorted(run.stat("oauth/tokens/from_store") for run in runs) == [0, 1]


def test_a_missing_client_secret_is_a_start_error_in_one_line(make_server, tmp_path, monkeypatch):
    server = make_server(StandardServer)
    spec = standard_spec(server.url, client_secret_env="NOT_SET_ANYWHERE_SECRET")
    run = crawl(tmp_path, server.url, {"local": spec})
    assert run.returncode == 4, run.log[-3000:]
    assert "environment variable NOT_SET_ANYWHERE_SECRET, which is not set" in run.log
    assert "Traceback" not in run.log and server.server.state["api_requests"] == 0
