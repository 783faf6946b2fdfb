"""``scrapy proxies ...`` driven for real, in subprocesses, against the loopback fleet."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from proxies.model import Proxy
from tests.net import free_port, wait_for_port
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
        (("fetch",), "no proxy sources: set PROXY_POOL_SOURCES"),
        (("fetch",), "or --rule RULE (a free-proxy site's rule"),
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


def readme_proxy_example() -> list[str]:
    """The README's proxy pool lines (``scrapy proxies ...``), as written, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [
        line.split(" # ", 1)[0].strip()
        for line in text.splitlines()
        if line.startswith("scrapy proxies")
    ]


def test_the_readme_proxy_example_works_as_written(sample_site: str, tmp_path: Path) -> None:
    """Every command of the README's example, in order, on a fresh machine: no source, store,
    secret or judge beforehand. Only the ports differ: the sample site's (the README's 8000),
    and the judge's and the API's, given in the environment as the pool reads its settings."""
    commands = readme_proxy_example()
    assert commands == [
        "scrapy proxies judge &",
        "scrapy proxies fetch --rule sample_free_proxies -a site=http://127.0.0.1:8000 --check "
        "&& scrapy proxies serve",
    ], commands
    judge_port, api_port = free_port(), free_port()
    fresh = ("PROXY_POOL_KEY_SECRET", "PROXY_POOL_API_TOKEN")  # generated, as on a fresh machine
    env = {
        **{k: v for k, v in os.environ.items() if k not in fresh},
        "PYTHONPATH": str(ROOT),
        "CRAWLER_DATA_DIR": str(tmp_path / "data"),
        "CRAWLER_STATE_DIR": str(tmp_path / "state"),
        "PROXY_POOL_DATA_DIR": str(tmp_path / "pool"),
        "PROXY_POOL_JUDGE_PORT": str(judge_port),
        "PROXY_POOL_JUDGE_URL": f"http://127.0.0.1:{judge_port}/",
        "PROXY_POOL_API_PORT": str(api_port),
    }

    def argv(command: str) -> list[str]:
        words = shlex.split(command.replace("http://127.0.0.1:8000", sample_site))
        assert words[0] == "scrapy", command
        return [*SCRAPY, *words[1:]]

    def start(command: str) -> subprocess.Popen:
        return subprocess.Popen(
            argv(command), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def stop(proc: subprocess.Popen) -> tuple[str, str]:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.communicate(timeout=15)

    judge = start(commands[0].removesuffix("&"))
    serve = None
    try:
        wait_for_port(judge_port, timeout=60, process=judge)
        fetch_command, serve_command = commands[1].split(" && ")
        fetch = subprocess.run(
            argv(fetch_command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert fetch.returncode == 0, fetch.stdout + fetch.stderr
        assert "sample_free_proxies      30 found, 30 new" in fetch.stdout, fetch.stdout
        assert "30 proxies from 1 sources; pool holds 30" in fetch.stdout
        assert "0 alive, 30 dead" in fetch.stdout  # the sample list's proxies are not there
        serve = start(serve_command)
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith(f"proxy pool API on http://127.0.0.1:{api_port}/"), line + (
            stop(serve)[1] if serve.poll() is not None else ""
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/stats", timeout=10) as resp:
            stats = json.loads(resp.read())
        assert stats["total"] == 30 and stats["sources"]["sample_free_proxies"]["total"] == 30
    finally:
        if serve is not None:
            _, err = stop(serve)
            assert serve.returncode == 0, err
        stop(judge)
    assert (tmp_path / "data" / "proxies.db").is_file()  # the pool, under CRAWLER_DATA_DIR
    for secret in ("key-secret", "api-token"):  # generated under PROXY_POOL_DATA_DIR
        assert (tmp_path / "pool" / secret).stat().st_mode & 0o077 == 0
