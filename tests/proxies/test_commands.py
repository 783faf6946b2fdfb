"""``scrapy proxies ...`` driven for real, in subprocesses, against the loopback fleet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from proxies.model import Proxy
from tests.proxies.fleet import FleetProcess
from tests.proxies.source_pages import SourceSite

ROOT = Path(__file__).resolve().parents[2]
SCRAPY = [sys.executable, "-m", "scrapy.cmdline"]


def scrapy(
    *args: str, store: str, judge: str = "", timeout: float = 60
) -> subprocess.CompletedProcess:
    settings = ["-s", f"PROXY_POOL_STORE={store}"]
    if judge:
        settings += ["-s", f"PROXY_POOL_JUDGE_URL={judge}"]
    return subprocess.run(
        [*SCRAPY, "proxies", *args, *settings],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture()
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'proxies.db'}"


def test_check_list_stats(fleet: FleetProcess, store: str) -> None:
    specs = fleet.fleet.specs
    pick = {
        k: next(s for s in specs if s.kind == k and not s.auth)
        for k in ("elite", "anonymous", "transparent", "dead", "tarpit")
    }
    args = [f"127.0.0.1:{s.port}" for s in pick.values()]
    res = scrapy("check", *args, "--timeout", "1", store=store, judge=fleet.judge.url)
    assert res.returncode == 0, res.stderr
    assert "checked 5" in res.stdout and "3 alive, 2 dead" in res.stdout
    assert f"127.0.0.1:{pick['elite'].port} alive" in res.stdout
    listed = scrapy("list", "--json", store=store)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["anonymity"] for r in rows} == {"elite", "anonymous", "transparent"}
    elite = json.loads(scrapy("list", "--json", "--anonymity", "elite", store=store).stdout)
    assert [r["proxy"] for r in elite] == [f"http://127.0.0.1:{pick['elite'].port}"]
    stats = scrapy("stats", store=store)
    assert stats.returncode == 0 and "total 5  alive 3  dead 2" in stats.stdout
    assert "cli" in stats.stdout


def test_user_errors_have_no_traceback(store: str) -> None:
    for args, message in [
        (("fetch",), "no proxy sources"),
        (("list", "--anonymity", "super"), "unknown anonymity level"),
        (
            ("check", "127.0.0.1:8080", "-s", "PROXY_POOL_JUDGE_URL=http://127.0.0.1:9/"),
            "does not answer",
        ),
    ]:
        res = scrapy(*args, store=store)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert message in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
        assert "secret" not in res.stderr
    res = subprocess.run(
        [*SCRAPY, "proxies", "frobnicate"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2 and "name an action" in res.stderr and "Traceback" not in res.stderr


def test_fetch_from_a_url_source(store: str) -> None:
    free = [Proxy(f"10.9.0.{i}", 3128) for i in range(1, 4)]
    with SourceSite(free, []) as base:
        res = scrapy("fetch", "--url", f"{base}/free.txt", store=store)
    assert res.returncode == 0, res.stderr
    assert "3 found, 3 new" in res.stdout
    stats = scrapy("stats", "--json", store=store)
    assert json.loads(stats.stdout)["sources"]["url"]["total"] == 3


def test_serve_answers_and_stops_on_sigterm(store: str) -> None:
    proc = subprocess.Popen(
        [
            *SCRAPY,
            "proxies",
            "serve",
            "--port",
            "0",
            "--no-check",
            "--no-fetch",
            "-s",
            f"PROXY_POOL_STORE={store}",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "proxy pool API on http://127.0.0.1:" in line, (
            proc.stderr.read() if proc.poll() is not None else line
        )
        base = line.split()[4].rstrip("/")
        with urllib.request.urlopen(f"{base}/count/", timeout=5) as resp:
            assert json.loads(resp.read()) == {"http_type": {}, "source": {}, "count": 0}
        with urllib.request.urlopen(f"{base}/get/", timeout=5) as resp:
            assert json.loads(resp.read()) == {"code": 0, "src": "no proxy"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
