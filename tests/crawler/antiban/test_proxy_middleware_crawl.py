"""The proxy middleware in real crawls (subprocess, real proxies on loopback): a password holding
'/', '@', ':' and '%' never reaches DEBUG logs or stats; a dead or stalled proxy is logged once,
with its reason, as soon as the crawl notices it.

tinyproxy's configuration grammar takes a BasicAuth password of ``[-a-z0-9._]`` only, so the
password test runs through proxy.py (PyPI, a test dependency) with ``--basic-auth``; the
tinyproxy credentials crawl is ``test_antiban_crawl.py``'s."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from proxies import proxy_keys
from proxies.model import Proxy
from tests.sample_site import SampleSite

from .support import Tarpit, TinyProxy, free_port, require_tinyproxy, run_crawl, wait_for_port

USER = "crawlvendor"
PASSWORD = "Qj/Xw@Vz:Kp%Yb"  # / @ : % (tinyproxy's BasicAuth takes it as one word)
KEY_SECRET = "middleware-tests-key-secret-0123"


def fragments(secret: str, size: int = 3) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


PROXY_PY = shutil.which("proxy", path=str(Path(sys.executable).parent))


@pytest.fixture
def proxy_with_credentials(tmp_path: Path):
    """proxy.py on loopback, wanting USER:PASSWORD (407 otherwise); yields its port."""
    if PROXY_PY is None:
        pytest.skip("proxy.py is not installed (pip install -r requirements-dev.txt)")
    port = free_port()
    log = open(tmp_path / "proxy.py.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [PROXY_PY, "--hostname", "127.0.0.1", "--port", str(port), "--num-workers", "1",
         "--num-acceptors", "1", "--basic-auth", f"{USER}:{PASSWORD}", "--log-level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        wait_for_port(port, timeout=20, process=proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(90)
def test_password_never_in_debug_logs_or_stats(
    proxy_with_credentials: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same key secret here and in the crawl, so labels can be compared
    monkeypatch.setenv("PROXY_POOL_KEY_SECRET", KEY_SECRET)
    proxy_keys.use_secret(None)  # the environment's, not one an earlier test settled on
    port = proxy_with_credentials
    good = Proxy("127.0.0.1", port, username=USER, password=PASSWORD)
    wrong = Proxy("127.0.0.1", port, username=USER, password=PASSWORD + "x")
    with SampleSite(books=6) as site:
        urls = [f"{site.url}/book/{i}.html" for i in range(1, 7)]
        result = run_crawl(
            urls,
            {
                "PROXY_LIST": [good.url, wrong.url],
                "PROXY_POLICY": "round_robin",
                "PROXY_FAILURE_BACKOFF": 60,
                "LOG_LEVEL": "DEBUG",
            },
            tmp_path,
        )
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(result.fetched) == sorted(urls)
    assert result.stats[f"antiban/proxy/{good.label}/success"] >= 1
    assert result.stats[f"antiban/proxy/{wrong.label}/failure"] >= 1
    text = result.log + repr(result.stats)
    assert "DEBUG" in result.log and "***@127.0.0.1" in text
    assert USER not in text
    for secret in (PASSWORD, PASSWORD + "x"):
        leaked = sorted(f for f in fragments(secret) if f in text)
        assert not leaked, leaked
    assert good.url.split("@")[0].split(":", 2)[2] not in text  # nor its encoded form


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def _when(line: str) -> datetime:
    m = LOG_TIME.match(line)
    assert m, line
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")


@pytest.mark.timeout(60)
def test_dead_and_stalled_proxies_are_logged_once_with_their_reason(tmp_path: Path) -> None:
    require_tinyproxy()
    good = TinyProxy("127.0.0.3", tmp_path).start()
    tarpit = Tarpit()
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        with SampleSite(books=20) as site:
            urls = [f"{site.url}/book/{i}.html" for i in range(1, 21)]
            result = run_crawl(
                urls,
                {
                    "PROXY_LIST": [dead, tarpit.url, good.url],
                    "PROXY_POLICY": "round_robin",
                    "PROXY_DOWNLOAD_TIMEOUT": 2,
                    "PROXY_FAILURE_BACKOFF": 1,  # back soon: fails again, still one line
                    "CONCURRENT_REQUESTS": 4,
                    "LOG_LEVEL": "INFO",
                },
                tmp_path,
            )
    finally:
        tarpit.close()
        good.stop()
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(result.fetched) == sorted(urls)
    lines = result.log.splitlines()
    opened = next(line for line in lines if "Spider opened" in line)
    for url, reason in ((dead, "connection_refused"), (tarpit.url, "timeout")):
        logged = [line for line in lines if f"Proxy {url} failed" in line]
        assert len(logged) == 1, (url, logged)
        assert f"({reason})" in logged[0] and "WARNING" in logged[0]
        assert result.stats[f"antiban/proxy/{url}/failure"] >= 1
        # noticed within the download timeout; logged at once (well within 10 s)
        assert (_when(logged[0]) - _when(opened)).total_seconds() <= 10
