"""Attacks on where a token goes, reproduced on 127.0.0.1 with ``scrapy crawl`` (a subprocess)
and refused:

- the provider redirects to another host (127.0.0.2, a second loopback server that records
  every request) and its ``Location`` echoes the token (WeChat-style query token: the whole
  query string; a bearer token: copied into the query, or into the path): the other host never
  receives it, the items' ``_url`` is the page's URL without it;
- a crawl with a ``JOBDIR``, stopped with requests still queued on disk and resumed: no file of
  the job directory holds the token (the disk queues hold the requests without it).

The distributed side (the Redis queue and leases) is tested in
tests/crawler/distributed/test_queue_safety.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oauth_servers.elsewhere import OtherHost
from tests.oauth_servers.standard import StandardServer
from tests.oauth_servers.wechat import WeChatServer

from . import disk_tap
from .crawling import RULE, WITH_A_REDIRECT, crawl, leaks
from .support import standard_spec, wechat_spec
from .test_crawls import ALL_IDS, authorized, standard_secrets, wechat_secrets

pytestmark = pytest.mark.timeout(180)

# RULE starting at a page of the provider that redirects, and at a page of the other host.
MOVED_RULE = RULE.replace(
    "item: {{key: id}}\n", "allowed_domains: [127.0.0.1, 127.0.0.2]\nitem: {{key: id}}\n", 1
).replace(
    '  - url: "{{site}}/api/items?page={pages}"\n',
    '  - url: "{{site}}/api/moved?page=1{pages}"\n    page: items\n'
    '  - url: "OTHER/api/items?page=100"\n',
    1,
)


# The second start makes the other host one of the rule's start origins: redirects to a
# loopback address are refused otherwise (crawler/spider/url_guard.py), and the point here is
# what reaches a host the redirect is allowed to go to. Its page is empty (no item, no next).
OTHER_START = "/api/items?page=100"


def moved_rule(other: OtherHost) -> str:
    return MOVED_RULE.replace("OTHER", other.url)


def redirected_to(other: OtherHost) -> list[dict]:
    """What the other host received, but the rule's own start there."""
    return [r for r in other.requests if r["path_qs"] != OTHER_START]


@pytest.fixture
def other() -> Iterator[OtherHost]:
    with OtherHost() as server:
        yield server


def test_a_query_token_echoed_into_a_redirect_never_reaches_the_other_host(
    make_server, other, tmp_path
):
    server = make_server(WeChatServer, auto_confirm=True)
    server.wechat.moved_to = other.url
    spec = wechat_spec(server.url, openid_param="openid")
    authorized(tmp_path, "wx", spec)
    run = crawl(tmp_path, server.url, {"wx": spec}, rule=moved_rule(other), pages="")
    assert run.returncode == 0, run.log[-3000:]
    secrets = wechat_secrets(server)
    assert server.wechat.state["moved"] == 1 and run.stat("oauth/requests/signed") == 1
    # every page came from the other host, which saw no token, no openid, no header with it
    assert len(redirected_to(other)) == 8, other.text()
    assert not [s for s in secrets if s in other.text()]
    assert "access_token" not in other.text() and "openid" not in other.text()
    assert run.stat("oauth/redirects/scrubbed") == 1
    assert run.stat("oauth/requests/other_host") == 9  # the redirected pages and the start
    assert sorted(i["id"] for i in run.items) == ALL_IDS
    urls = {i["_url"] for i in run.items}
    assert f"{other.url}/api/items?page=1" in urls and all(u.startswith(other.url) for u in urls)
    assert leaks(run, secrets) == {}


def test_a_bearer_token_copied_into_a_redirect_never_reaches_the_other_host(
    make_server, other, tmp_path
):
    server = make_server(StandardServer, auto_approve="alice")
    server.server.moved_to = other.url
    spec = standard_spec(server.url, grant="refresh_token")
    authorized(tmp_path, "local", spec)
    run = crawl(tmp_path, server.url, {"local": spec}, rule=moved_rule(other), pages="")
    assert run.returncode == 0, run.log[-3000:]
    secrets = standard_secrets(server)
    assert server.server.state["moved"] == 1
    assert len(redirected_to(other)) == 8, other.text()
    assert not [s for s in secrets if s in other.text()]
    assert not [r for r in other.requests if "Authorization" in r["headers"]]
    assert run.stat("oauth/redirects/scrubbed") == 1
    assert sorted(i["id"] for i in run.items) == ALL_IDS
    assert f"{other.url}/api/items?page=1" in {i["_url"] for i in run.items}
    assert leaks(run, secrets) == {}


def test_a_redirect_with_the_token_in_its_path_is_not_followed(make_server, other, tmp_path):
    server = make_server(StandardServer, auto_approve="alice")
    server.server.moved_to = other.url
    spec = standard_spec(server.url, grant="refresh_token")
    authorized(tmp_path, "local", spec)
    run = crawl(tmp_path, server.url, {"local": spec}, rule=moved_rule(other), pages="&in=path")
    secrets = standard_secrets(server)
    assert server.server.state["moved"] == 1  # the provider answered, with the token in a path
    assert redirected_to(other) == []
    assert run.stat("oauth/redirects/refused") == 1
    assert "held an OAuth token in its Location outside the query: not followed" in run.log
    assert "Traceback" not in run.log and run.items == []
    assert leaks(run, secrets) == {}


def files_holding(root: Path, secrets: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [s[:6] + "…" for s in secrets if s.encode() in data]
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def test_a_job_directory_never_holds_the_token(make_server, tmp_path):
    """Scrapy's disk queues pickle requests: a signed one must never reach them. Every request
    written to the job directory (tapped as it is written) and every file left in it holds no
    token, retries after expired answers and a redirect whose Location echoed the token
    included: the token goes on in the downloader, after the scheduler, and comes off before
    the redirect and retry middlewares build their requests."""
    server = make_server(WeChatServer, auto_confirm=True)
    server.wechat.expire_after_uses = 3  # renewals and retries go through the disk queue too
    server.wechat.moved_to = server.url  # a redirect to the provider itself, signed again
    spec = wechat_spec(server.url, openid_param="openid")
    authorized(tmp_path, "wx", spec)
    jobdir, tap = tmp_path / "job", tmp_path / "disk-tap"
    settings = ("-s", f"JOBDIR={jobdir}", *disk_tap.SETTINGS)
    env = {disk_tap.TAP: str(tap)}
    # nine start pages, one request at a time, stopped after five: requests stay on disk
    first = crawl(tmp_path, server.url, {"wx": spec}, *settings, "-s", "CLOSESPIDER_PAGECOUNT=5",
                  name="first", pages="{1..8}", rule=WITH_A_REDIRECT, env=env)  # fmt: skip
    assert first.records[-1]["finish_reason"] == "closespider_pagecount", first.log[-3000:]
    queued = [p for p in (jobdir / "requests.queue").rglob("*") if p.is_file() and p.stat().st_size]
    assert queued, "the stopped crawl left no request on disk"
    on_disk = b"".join(p.read_bytes() for p in queued)
    assert b"/api/items?page=" in on_disk  # the queued requests are there, without the token
    secrets = wechat_secrets(server)
    assert files_holding(jobdir, secrets) == {}
    second = crawl(tmp_path, server.url, {"wx": spec}, *settings, name="second", pages="{1..8}",
                   rule=WITH_A_REDIRECT, env=env)  # fmt: skip
    assert second.returncode == 0, second.log[-3000:]
    assert {i["id"] for i in first.items + second.items} == set(ALL_IDS)
    assert server.wechat.state["api_rejected"] >= 1  # an expired answer was retried
    assert server.wechat.state["moved"] >= 1
    secrets = wechat_secrets(server)
    assert files_holding(jobdir, secrets) == {}
    assert leaks(first, secrets) == {} and leaks(second, secrets) == {}

    written = disk_tap.tapped(tap)
    retried = [d for _, d in written if d["meta"].get("retry_times")]
    redirected = [d for _, d in written if d["meta"].get("redirect_urls")]
    assert retried and redirected, [d["url"] for _, d in written]  # both went through the disk
    assert [d["meta"]["redirect_urls"] for d in redirected][0] == [f"{server.url}/api/moved?page=1"]
    assert [d["url"] for d in redirected][0] == f"{server.url}/api/items?page=1"
    assert not [s[:6] for s in secrets for data, _ in written if s.encode() in data]
    assert not [d["url"] for _, d in written if "access_token" in d["url"] or "openid" in d["url"]]
