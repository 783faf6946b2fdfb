"""The service's security model: tokens for state changes, loopback binding, keyed proxy keys,
and masking of passwords holding any character."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from proxies import proxy_keys
from proxies.api_token import TokenError, configured_token, service_token
from proxies.checker import apply_results
from proxies.cli import run
from proxies.model import Anonymity, Proxy
from proxies.pool import memory_pool
from proxies.pool_store import summary
from proxies.validator import CheckResult, safe_error
from tests.proxies.conftest import API_TOKEN
from tests.proxies.test_api import ApiThread
from vocab import mask_url

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Qj/Xw@Vz:Kp%Yb#Hn?Tc Rd\u00e9\u4e2d"  # / @ : % # ? space, unicode
USER = "vendor-user"


def fragments(secret: str, size: int = 3) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def assert_no_secret(text: str) -> None:
    assert USER not in text
    leaked = sorted(f for f in fragments(PASSWORD) if f in text)
    assert not leaked, leaked


@pytest.fixture()
def pool():
    paid = Proxy("127.0.0.1", 3128, username=USER, password=PASSWORD, paid=True, source="vendor")
    free = Proxy("127.0.0.1", 8080, source="free")
    p = memory_pool([paid, free])
    apply_results(
        p.store,
        p.policy,
        [
            CheckResult(x, True, latency=0.1, anonymity=Anonymity.ELITE, https=True)
            for x in (paid, free)
        ],
    )
    p.paid_proxy = paid  # type: ignore[attr-defined]
    return p


def test_mask_url_handles_every_character_a_password_holds() -> None:
    proxy = Proxy("10.0.0.1", 3128, username=USER, password=PASSWORD)
    assert Proxy.parse(proxy.url) == proxy  # percent-encoded in the URL, and back
    for text in (
        proxy.url,
        f"http://{USER}:{PASSWORD}@10.0.0.1:3128",  # as typed, unencoded
        f"error talking to http://{USER}:{PASSWORD}@10.0.0.1:3128/x?y=1 (refused)",
        f"{USER}:{PASSWORD}@10.0.0.1:3128",  # no scheme
        f"socks5://{USER}:{PASSWORD}@[::1]:1080, http://{USER}:{PASSWORD}@h:1",
    ):
        masked = mask_url(text)
        assert_no_secret(masked)
        assert "***@" in masked
    for shown in (proxy.label, str(proxy), repr(proxy)):
        assert_no_secret(shown)
        assert "10.0.0.1:3128" in shown


def test_keys_are_keyed_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy_keys.use_secret(
        None
    )  # the environment's, not one an earlier test in this process settled on
    proxy = Proxy("10.0.0.1", 3128, username=USER, password=PASSWORD)
    digest = proxy.key.rsplit("#", 1)[1]
    creds = f"{USER}:{PASSWORD}".encode()
    for bare in (hashlib.sha1(creds), hashlib.sha256(creds), hashlib.md5(creds)):
        assert digest not in bare.hexdigest()
    monkeypatch.setenv("PROXY_POOL_KEY_SECRET", "another-secret-0123456789")
    assert proxy.key != f"http://10.0.0.1:3128#{digest}"  # depends on the secret
    # none configured: one is generated, private, and kept for the next process
    monkeypatch.delenv("PROXY_POOL_KEY_SECRET")
    try:
        assert proxy_keys.configure_keys({"PROXY_POOL_DATA_DIR": str(tmp_path)}) == "generated"
        secret = tmp_path / "key-secret"
        assert (secret.stat().st_mode & 0o777) == 0o600
        first = proxy.key
        proxy_keys.use_secret(None)
        proxy_keys.configure_keys({"PROXY_POOL_DATA_DIR": str(tmp_path)})
        assert proxy.key == first
        short = tmp_path / "short"
        short.write_text("too short")
        with pytest.raises(proxy_keys.SecretError, match="at least 16"):
            proxy_keys.configure_keys({"PROXY_POOL_KEY_SECRET_FILE": str(short)})
    finally:
        proxy_keys.use_secret(None)


def test_state_changes_need_the_token_and_are_never_plain_gets(pool) -> None:
    with ApiThread(pool) as api:
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        wrong = {"Authorization": "Bearer not-the-token-0123456789"}
        # reads are open on loopback
        assert requests.get(f"{api}/count/").json()["count"] == 2
        report = {"proxy": "127.0.0.1:8080", "outcome": "success"}
        for headers in ({}, wrong):
            assert requests.post(f"{api}/report", json=report, headers=headers).status_code == 401
            assert requests.get(f"{api}/pop/", headers=headers).status_code == 401
            assert (
                requests.post(f"{api}/delete/?proxy=127.0.0.1:8080", headers=headers).status_code
                == 401
            )
            assert requests.get(f"{api}/delete/?proxy=127.0.0.1:8080&token=x").status_code == 401
        assert requests.get(f"{api}/report?proxy=127.0.0.1:8080&outcome=success").status_code == 405
        assert requests.post(f"{api}/report", json=report, headers=auth).json()["src"] is True
        # jhao104's GET /delete: kept, with the token
        deleted = requests.get(f"{api}/delete/?proxy=127.0.0.1:8080&token={API_TOKEN}").json()
        assert deleted == {"code": 0, "src": True}
        assert requests.get(f"{api}/count/").json()["count"] == 1
        big = requests.post(f"{api}/report", data=b"x" * 70_000, headers=auth)
        assert big.status_code == 413  # bodies are bounded
    with ApiThread(pool, token=None) as api:  # no token at all: no state changes
        assert requests.post(f"{api}/report", json={}, headers=auth).status_code == 403


def test_no_public_bind_without_a_token(
    pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from proxies.api import build_app
    from proxies.service import start_api

    with pytest.raises(TokenError, match="not loopback"):
        asyncio.run(start_api(pool, "0.0.0.0", 0))
    monkeypatch.delenv("PROXY_POOL_API_TOKEN")
    settings = {"PROXY_POOL_DATA_DIR": str(tmp_path), "PROXY_POOL_STORE": "memory:"}
    with pytest.raises(TokenError, match="refusing to listen on 10.1.2.3"):
        service_token(settings, "10.1.2.3")
    out = io.StringIO()
    from proxies.cli import CliError

    with pytest.raises(CliError, match="without an API token"):
        run("serve", [], {"host": "0.0.0.0"}, settings, out)
    # on loopback a token is generated, private, for clients on this machine
    token = service_token(settings, "127.0.0.1")
    path = tmp_path / "api-token"
    assert path.read_text().strip() == token and (path.stat().st_mode & 0o777) == 0o600
    # a token file inside the repository is refused; outside it is read
    inside = ROOT / "data" / ".." / "token.txt"
    with pytest.raises(TokenError, match="inside the repository"):
        configured_token({"PROXY_POOL_API_TOKEN_FILE": str(inside)})
    outside = tmp_path / "token.txt"
    outside.write_text("file-token-0123456789abcdef\n")
    assert (
        configured_token({"PROXY_POOL_API_TOKEN_FILE": str(outside)})
        == "file-token-0123456789abcdef"
    )
    # bound elsewhere (with a token), reads need the token too
    app = build_app(pool, API_TOKEN, open_reads=False)
    assert app is not None


def test_reads_need_the_token_off_loopback(pool) -> None:
    """What a non-loopback bind serves (build_app with open_reads=False), tried on loopback."""
    from proxies.api import build_app
    from tests.net import aiohttp_app_in_thread

    with aiohttp_app_in_thread(build_app(pool, API_TOKEN, open_reads=False)) as base:
        assert requests.get(f"{base}/count/").status_code == 401
        ok = requests.get(f"{base}/count/", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert ok.json()["count"] == 2


def test_api_stats_listing_and_logs_never_show_the_password(pool, caplog, tmp_path: Path) -> None:
    paid = pool.paid_proxy
    caplog.set_level(logging.DEBUG)
    with ApiThread(pool) as api:
        answers = [
            requests.get(f"{api}/{path}").text
            for path in ("all/", "get/?paid=1", "count/", "stats", "all/?paid=1")
        ]
        answers.append(
            requests.post(
                f"{api}/report",
                json={"key": paid.key, "outcome": "failure"},
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            ).text
        )
    assert any("***@127.0.0.1:3128" in a for a in answers)
    for text in answers:
        assert_no_secret(text)
    assert_no_secret(json.dumps(summary(pool.store.all())))
    err = safe_error(OSError(f"failed via {paid.url} and {PASSWORD}"), paid)
    assert_no_secret(err)
    assert_no_secret(caplog.text)


def test_cli_listing_never_shows_the_password(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    settings = {"PROXY_POOL_STORE": f"sqlite:///{db}"}
    paid = Proxy("127.0.0.1", 3128, username=USER, password=PASSWORD, paid=True, source="vendor")
    pool = memory_pool()
    from proxies.pool_store import EmbeddedStore

    store = EmbeddedStore(db)
    store.add([paid])
    apply_results(store, pool.policy, [CheckResult(paid, True, latency=0.1, https=True)])
    store.close()
    out = io.StringIO()
    for action, opts in [
        ("list", {}),
        ("list", {"json_output": True}),
        ("stats", {"json_output": True}),
    ]:
        assert run(action, [], opts, settings, out) == 0
    assert "***@127.0.0.1:3128" in out.getvalue()
    assert_no_secret(out.getvalue())
    # and as a subprocess, the scrapy alias with its own logging at DEBUG
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", "proxies", "list", "--all", "-L", "DEBUG", "-s", f"PROXY_POOL_STORE=sqlite:///{db}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert_no_secret(res.stdout + res.stderr)
