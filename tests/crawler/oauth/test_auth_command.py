"""``scrapy auth``: ``authorize`` in a subprocess with a person acting on the printed URL (a
reused code gives its message and exit 5; a good one stores the credential), ``source-tokens`` listing
credentials without their tokens."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.crawler.crawl import ROOT, SCRAPY
from tests.oauth_servers.wechat import WeChatServer

from .crawling import environment
from .support import APP_SECRET, APPID, wechat_spec

pytestmark = pytest.mark.timeout(120)


def auth(tmp_path, *args: str, spec: dict | None = None) -> subprocess.Popen:
    settings = ["-s", f"OAUTH_TOKEN_STORE_URI=sqlite:///{tmp_path / 'oauth.db'}"]
    if spec is not None:
        settings += ["-s", f"OAUTH_PROVIDERS={json.dumps({'wx': spec})}"]
    return subprocess.Popen(
        [*SCRAPY, "auth", *args, *settings],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
    )  # fmt: skip


def printed_url(proc: subprocess.Popen) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http"):
            return line.strip()
    raise AssertionError(f"no URL printed: {proc.stderr.read() if proc.stderr else ''}")


def test_authorize_stores_a_credential_that_tokens_lists_without_its_token(make_server, tmp_path):
    server = make_server(WeChatServer, auto_confirm=True)
    proc = auth(tmp_path, "authorize", "wx", "--credential", "ops", spec=wechat_spec(server.url))
    url = printed_url(proc)
    assert f"appid={APPID}" in url and APP_SECRET not in url
    requests.get(url.split("#")[0], timeout=10)  # the person scans and confirms
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Stored credential 'ops' of provider 'wx'" in out and "with a refresh token" in out
    listing = auth(tmp_path, "source-tokens", "--json")
    out, err = listing.communicate(timeout=60)
    assert listing.returncode == 0, err
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["provider"] == "wx" and row["credential"] == "ops" and row["refresh_token"] is True
    assert row["token"].startswith("sha256:") and row["expires"].startswith("in ")
    secrets = set(server.wechat.access) | set(server.wechat.refresh) | {APP_SECRET}
    assert not [s for s in secrets if s in out + err]


def test_a_reused_code_is_refused_with_what_to_do(make_server, tmp_path):
    server = make_server(WeChatServer, auto_confirm=True)
    proc = auth(tmp_path, "authorize", "wx", spec=wechat_spec(server.url))
    url = printed_url(proc)
    redirect = requests.get(url.split("#")[0], allow_redirects=False, timeout=10).headers[
        "Location"
    ]
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    used = requests.get(f"{server.url}/sns/oauth2/access_token", timeout=10, params={
        "appid": APPID, "secret": APP_SECRET, "code": code, "grant_type": "authorization_code"})  # fmt: skip
    assert "access_token" in used.json()  # someone else exchanged it first
    requests.get(redirect, timeout=10)  # then the browser reaches the listener with it
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, out + err
    assert "errcode 40163" in err and "single-use" in err
    assert "run `scrapy auth authorize wx` again" in err and "Traceback" not in err


def test_an_unknown_provider_or_subcommand_is_one_line(tmp_path):
    proc = auth(tmp_path, "authorize", "nope")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4 and "no provider 'nope' in OAUTH_PROVIDERS" in err
    assert "Traceback" not in err
    proc = auth(tmp_path, "frobnicate")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "people, tokens, authorize, source-tokens" in err
