"""SOCKS4 and SOCKS5 proxies checked for real: Debian's dante-server (SOCKS4 and SOCKS5) and
microsocks (SOCKS5 with a user name and password), on loopback, against the fleet's judge."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxies.model import Anonymity, Proxy
from proxies.validator import Validator
from tests.net import free_port, wait_for_port
from tests.proxies.fleet import FleetProcess

DANTED = shutil.which("danted") or shutil.which("danted", path="/usr/sbin")
MICROSOCKS = shutil.which("microsocks")
PASSWORD = "p/a@s:s%w0rd#? x"  # the characters that break URLs (SOCKS needs ASCII: below)


def _start(cmd: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_for_port(port, process=proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.fixture(scope="module")
def dante(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if DANTED is None:
        pytest.skip("dante-server is not installed (apt-get install dante-server)")
    d = tmp_path_factory.mktemp("dante")
    port = free_port()
    conf = d / "danted.conf"
    conf.write_text(
        f"logoutput: {d / 'log'}\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.1.30\n"
        "clientmethod: none\nsocksmethod: none\nuser.privileged: root\n"
        "user.unprivileged: nobody\n"
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 protocol: tcp }\n"
    )
    proc = _start([DANTED, "-f", str(conf), "-N", "1", "-p", str(d / "pid")], port)
    yield port
    _stop(proc)


@pytest.fixture(scope="module")
def microsocks() -> Iterator[int]:
    if MICROSOCKS is None:
        pytest.skip("microsocks is not installed (apt-get install microsocks)")
    port = free_port()
    cmd = [MICROSOCKS, "-i", "127.0.0.1", "-p", str(port), "-b", "127.0.1.31"]
    proc = _start([*cmd, "-u", "sockuser", "-P", PASSWORD], port)
    yield port
    _stop(proc)


def test_socks4_and_socks5_are_checked(dante: int, fleet: FleetProcess) -> None:
    validator = Validator(
        fleet.judge.url, https_url=fleet.judge.https_url, timeout=3, tls_verify=False
    )
    results = validator.run(
        [Proxy("127.0.0.1", dante, scheme="socks4"), Proxy("127.0.0.1", dante, scheme="socks5")]
    )
    for res in results:
        assert res.alive, res.error
        assert res.anonymity is Anonymity.ELITE  # SOCKS adds no header; the judge sees dante
        assert res.seen_address == "127.0.1.30"
        assert res.https is True  # TLS through the SOCKS tunnel
    dead = validator.run([Proxy("127.0.0.1", free_port(), scheme="socks4")])[0]
    assert dead.alive is False and dead.error


def test_socks5_with_credentials(microsocks: int, fleet: FleetProcess) -> None:
    validator = Validator(
        fleet.judge.url, https_url=fleet.judge.https_url, timeout=3, tls_verify=False
    )
    good = Proxy("127.0.0.1", microsocks, scheme="socks5", username="sockuser", password=PASSWORD)
    parsed = Proxy.parse(good.url)  # the URL form, percent-encoded, round-trips
    assert parsed == good
    wrong = Proxy("127.0.0.1", microsocks, scheme="socks5", username="sockuser", password="nope")
    ok, refused = validator.run([parsed, wrong])
    assert ok.alive and ok.anonymity is Anonymity.ELITE and ok.https is True, ok.error
    assert ok.seen_address == "127.0.1.31"
    assert refused.alive is False
    for text in (refused.error, refused.summary(), ok.summary(), repr(ok.proxy)):
        assert "sockuser" not in text and "s%w0rd" not in text and "w0rd" not in text
    # python-socks sends SOCKS credentials as ASCII: any other is a clear error, not a crash
    accented = Proxy("127.0.0.1", microsocks, scheme="socks5", username="u", password="pässwörd")
    res = validator.run([accented])[0]
    assert res.alive is False and "ASCII" in res.error and "ss" not in res.error


def test_check_command_checks_socks(dante: int, fleet: FleetProcess, tmp_path: Path) -> None:
    import io

    from proxies.cli import run

    out = io.StringIO()
    settings = {
        "PROXY_POOL_STORE": f"sqlite:///{tmp_path / 'p.db'}",
        "PROXY_POOL_JUDGE_URL": fleet.judge.url,
    }
    assert run("check", [f"socks5://127.0.0.1:{dante}"], {"timeout": 3.0}, settings, out) == 0
    assert f"socks5://127.0.0.1:{dante} alive" in out.getvalue()
    assert "0 not checkable" in out.getvalue()
