"""The proxy API closed at its edges (issue 21): oversized request lines and headers, too many
headers, bytes that are not HTTP, a Host pointed at us by someone else's DNS and a failing
handler are each answered in one line, with the security headers, counted and logged in a few
lines without a traceback, while the service keeps answering. Every attack runs against the
real API on 127.0.0.1; the 60 KB header flood against the real ``python -m proxies serve``."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from proxies.api import REFUSALS_KEY
from proxies.checker import apply_results
from proxies.cli import CliError, run
from proxies.model import Proxy
from proxies.pool import memory_pool
from proxies.service import start_api
from proxies.validator import CheckResult
from tests.net import free_port, wait_for_port
from tests.proxies.conftest import API_TOKEN
from tests.proxies.test_api import ApiThread

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# What every answer of the API carries (the list, written out: not read from the code).
SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
BIG = b"X-Big: " + b"a" * 60_000  # a 60 KB header


def raw(port: int, data: bytes, source: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as it is on a connection of its own, read the answer to the end:
    (status, headers, body); status 0 if the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head:
        return 0, {}, b""
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def request(path: str = "/count/", *headers: bytes, host: bytes = b"127.0.0.1") -> bytes:
    return b"\r\n".join(
        [f"GET {path} HTTP/1.1".encode(), b"Host: " + host, *headers, b"Connection: close"]
    ) + (b"\r\n\r\n")


def assert_secure(headers: dict[str, str] | requests.structures.CaseInsensitiveDict) -> None:
    missing = {k: v for k, v in SECURITY.items() if headers.get(k) != v}
    assert not missing, missing


def assert_no_traceback(records: list[logging.LogRecord], text: str) -> None:
    assert "Traceback" not in text
    assert [r.getMessage() for r in records if r.exc_info or r.exc_text or r.stack_info] == []


def test_a_thousand_60kb_headers_to_serve_get_431_and_log_no_traceback(tmp_path: Path) -> None:
    port = free_port()
    stderr = tmp_path / "serve.err"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROXY_POOL_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "proxies", "serve", "--port", str(port), "--no-check",
               "--no-fetch", "-L", "DEBUG", "-s", "PROXY_POOL_STORE=memory:"]  # fmt: skip
    with stderr.open("w") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for_port(port, 30, proc)
        statuses: dict[int, int] = {}
        answers_between = []
        started = time.monotonic()
        for i in range(1000):
            status, headers, body = raw(port, request("/count/", BIG))
            statuses[status] = statuses.get(status, 0) + 1
            if i % 100 == 99:  # the service keeps answering in between
                ok = requests.get(f"http://127.0.0.1:{port}/count/", timeout=10)
                answers_between.append((ok.status_code, ok.json()["count"]))
        elapsed = time.monotonic() - started
        last = (status, headers, body)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    log = stderr.read_text()
    print(f"\n1000 requests with a 60 KB header: {statuses} in {elapsed:.2f} s")
    assert statuses == {431: 1000}
    assert answers_between == [(200, 0)] * 10
    assert last[0] == 431 and last[2].count(b"\n") == 1 and b"aaaa" not in last[2]
    assert_secure(last[1])
    assert "Traceback" not in log and "aiohttp.server" not in log
    lines = [line for line in log.splitlines() if "too large (431)" in line]
    # logged at the 1st, 10th, 100th and 1000th, and once more in the summary on the way out
    assert len(lines) == 5, lines
    assert lines[-1].endswith("proxy API refused: 1000 request line or header too large (431)")


def test_overlong_lines_many_headers_and_garbage_get_one_line_each(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = {"PROXY_POOL_API_MAX_REQUEST_LINE": 512, "PROXY_POOL_API_MAX_HEADER_FIELD": 1024}
    server = ApiThread(memory_pool(), settings=settings)
    with server:
        port = server.port
        attacks = {
            "request line over its bound": (request("/all/?x=" + "a" * 600), 431),
            "header over its bound": (request("/count/", b"X-Big: " + b"a" * 1100), 431),
            "header name over its bound": (request("/count/", b"a" * 1100 + b": 1"), 431),
            "60 KB request line": (request("/" + "a" * 60_000), 431),
            "100 headers (64 allowed)": (
                request("/count/", *[f"X-H{i}: 1".encode() for i in range(100)]),
                431,
            ),
            "TLS on the HTTP port": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 8, 400),
            "bad Content-Length": (request("/count/", b"Content-Length: many"), 400),
        }
        answers = {name: raw(port, data) for name, (data, _) in attacks.items()}
        within = {  # just under the bounds: served
            "request line": raw(port, request("/count/?x=" + "a" * 400))[0],
            "header": raw(port, request("/count/", b"X-Big: " + b"a" * 1000))[0],
            "60 headers": raw(port, request("/count/", *[f"X-H{i}: 1".encode() for i in range(60)]))[0],
        }  # fmt: skip
    for name, (_, expected) in attacks.items():
        status, headers, body = answers[name]
        assert status == expected, (name, status, body[:200])
        assert body.count(b"\n") == 1 and body.startswith(f"{expected}: ".encode()), (name, body)
        assert b"aaa" not in body and b"X-H" not in body  # nothing of the request echoed
        assert_secure(headers)
    assert within == {"request line": 200, "header": 200, "60 headers": 200}
    assert_no_traceback(caplog.records, caplog.text)
    assert [r for r in caplog.records if r.name.startswith("aiohttp")] == []
    api_lines = [r.getMessage() for r in caplog.records if r.name == "proxies.api"]
    assert len(api_lines) == 4 and all("1 so far" in line for line in api_lines), api_lines


def test_server_limits_below_their_floor_are_a_bad_setting(tmp_path: Path) -> None:
    import asyncio

    with pytest.raises(ValueError, match="PROXY_POOL_API_MAX_HEADERS must be at least 8, not 1"):
        asyncio.run(start_api(memory_pool(), "127.0.0.1", 0, settings={"PROXY_POOL_API_MAX_HEADERS": 1}))  # fmt: skip
    settings = {
        "PROXY_POOL_STORE": "memory:",
        "PROXY_POOL_DATA_DIR": str(tmp_path),
        "PROXY_POOL_API_MAX_REQUEST_LINE": "10",
    }
    with pytest.raises(CliError, match="bad setting: PROXY_POOL_API_MAX_REQUEST_LINE must be"):
        run("serve", [], {"port": free_port(), "no_check": True, "no_fetch": True}, settings)


def test_a_rebinding_host_gets_400(caplog) -> None:
    caplog.set_level(logging.WARNING)
    proxy = Proxy("127.0.0.1", 8080, source="free")
    pool = memory_pool([proxy])
    apply_results(pool.store, pool.policy, [CheckResult(proxy, True, latency=0.1)])
    settings = {"PROXY_POOL_API_ALLOWED_HOSTS": "pool.internal, other.example:8443"}
    server = ApiThread(pool, settings=settings)
    with server as api:
        port = server.port

        def get(host: str | None, path: str = "/count/", **kw) -> requests.Response:
            headers = {} if host is None else {"Host": host}
            return requests.get(f"{api}{path}", headers=headers, timeout=10, **kw)

        refused = {
            host: get(host).status_code
            for host in (
                f"rebind.attacker.example:{port}",  # the page's own name, now 127.0.0.1
                "rebind.attacker.example",
                f"[::1]:{port}",  # loopback, but not where this connection arrived
                "127.0.0.2",
                "127.0.0.1:1",  # not the port it arrived at
                f"localhost:{port}0",
                f"127.0.0.1:{port}x",
                "evil.pool.internal",
                "other.example",  # configured with its port only
                "",
            )
        }
        served = {
            host: get(host).status_code
            for host in (None, f"127.0.0.1:{port}", "127.0.0.1", f"localhost:{port}",
                         "LOCALHOST.", "pool.internal", f"POOL.Internal.:{port}",
                         "other.example:8443")
        }  # fmt: skip
        # a state change through a rebinding name, with the right token: refused as well
        pop = requests.post(
            f"{api}/pop/", headers={**AUTH, "Host": "rebind.attacker.example"}, timeout=10
        )
        kept = [r.key for r in pool.store.all()]
        no_host = raw(port, b"GET /count/ HTTP/1.0\r\n\r\n")
        answer = get("rebind.attacker.example")
        counted = server.runner.app[REFUSALS_KEY].counts["unknown Host (400)"]
        popped = requests.post(f"{api}/pop/", headers=AUTH, timeout=10)  # by its own address
    assert refused == dict.fromkeys(refused, 400), refused
    assert served == dict.fromkeys(served, 200), served
    assert pop.status_code == 400 and kept == [proxy.key]
    assert popped.json()["proxy"] == "127.0.0.1:8080" and pool.store.all() == []
    assert no_host[0] == 400 and json.loads(no_host[2])["src"].startswith("unknown Host")
    assert answer.json() == {"code": 1, "src": "unknown Host: this API answers for its own address only"}  # fmt: skip
    assert_secure(answer.headers)
    assert counted == len(refused) + 3  # the POST, the missing Host and the last GET
    lines = [r.getMessage() for r in caplog.records if "unknown Host" in r.getMessage()]
    assert len(lines) == 2 and lines[1].endswith("10 so far"), lines  # 13 refused: 1st and 10th
    assert_no_traceback(caplog.records, caplog.text)


def test_every_answer_carries_the_security_headers(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    pool = memory_pool()
    settings = {"PROXY_POOL_API_BACKOFF_AFTER": 0}
    wrong = {"Authorization": "Bearer not-the-token-0123456789"}
    server = ApiThread(pool, settings=settings)
    with server as api:
        port = server.port
        got: dict[str, tuple[int, dict]] = {}
        for path in ("/", "/get/", "/all/", "/count/", "/stats", "/refresh/", "/get/?anonymity=x"):
            r = requests.get(api + path, timeout=10)
            got[path] = r.status_code, r.headers
        for name, r in {
            "report with the token": requests.post(f"{api}/report", json={"proxy": "10.0.0.1:1", "outcome": "ban"}, headers=AUTH),
            "a body too large": requests.post(f"{api}/report", data=b"x" * 70_000, headers=AUTH),
            "GET /report": requests.get(f"{api}/report"),
            "no such path": requests.get(f"{api}/nothing"),
            "no token": requests.post(f"{api}/pop/"),
            "a wrong token": requests.post(f"{api}/pop/", headers=wrong),
            "backing off": requests.post(f"{api}/pop/", headers=wrong),
            "a rebinding Host": requests.get(f"{api}/count/", headers={"Host": "evil.example"}),
        }.items():  # fmt: skip
            got[name] = r.status_code, r.headers
        status, headers, _ = raw(port, request("/count/", BIG))
        got["a 60 KB header"] = status, headers
        status, headers, _ = raw(port, b"\x16\x03\x01 not HTTP\r\n\r\n")
        got["not HTTP"] = status, headers
        pool.store.all = lambda: (_ for _ in ()).throw(RuntimeError("store gone\nsecond line"))
        r = requests.get(f"{api}/stats", timeout=10)
        got["a failing handler"] = r.status_code, r.headers
        failed_body = r.text
    with ApiThread(pool, token=None) as api:
        r = requests.post(f"{api}/pop/", headers=AUTH, timeout=10)
        got["no token configured"] = r.status_code, r.headers
    statuses = {name: status for name, (status, _) in got.items()}
    assert statuses == {
        "/": 200, "/get/": 200, "/all/": 200, "/count/": 200, "/stats": 200, "/refresh/": 200,
        "/get/?anonymity=x": 400, "report with the token": 404, "a body too large": 413,
        "GET /report": 405, "no such path": 404, "no token": 401, "a wrong token": 401,
        "backing off": 429, "a rebinding Host": 400, "a 60 KB header": 431, "not HTTP": 400,
        "a failing handler": 500, "no token configured": 403,
    }  # fmt: skip
    for name, (_, headers) in got.items():
        missing = {k: v for k, v in SECURITY.items() if headers.get(k) != v}
        assert not missing, (name, missing)
    assert failed_body == "500: the server failed to answer; its log says why\n"
    # (asyncio's "Task was destroyed" lines come from other tests' servers collected here)
    errors = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name != "asyncio"
    ]
    assert errors == [
        "proxy API: handler failed (500) (from 127.0.0.1 GET /stats: RuntimeError: store gone "
        "second line); 1 so far"
    ]
    assert_no_traceback(caplog.records, caplog.text)
