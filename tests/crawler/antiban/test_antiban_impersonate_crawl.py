"""`scrapy crawl` of a rule with `antiban: {impersonate: chrome}` against a loopback TLS server
that fingerprints every ClientHello: the crawl presents Chrome's TLS fingerprint (the one
curl_cffi presents for the same target), its User-Agent and client hints; a plain crawl does not.
Directly, through an HTTP proxy with credentials (tinyproxy) and through a SOCKS5 one."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from pathlib import Path

import curl_cffi.requests
import pytest

from tests.crawler.crawl import crawl

from .support import TinyProxy, require_tinyproxy
from .tls_fingerprint import FingerprintServer, Visit, is_grease, ja3n, ja4, ja4_parts

RULE = """
name: fingerprinted
args:
  site: https://localhost:1
item:
  collection: fingerprinted
start:
  - url: "{site}/start"
    page: page
pages:
  page:
    fields:
      title: {css: "h1::text", required: true}
ANTIBAN
settings:
  PROXY_WAIT_MAX: 5
  BAN_RETRY_TIMES: 0
  RETRY_ENABLED: false
"""
# Chrome's cipher suites, in Chrome's order (after a GREASE value).
CHROME_CIPHERS = [4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172]
CHROME_CIPHERS += [156, 157, 47, 53]


def crawl_rule(tmp_path: Path, server: FingerprintServer, antiban: str, *settings: str):
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "fingerprinted.yaml").write_text(RULE.replace("ANTIBAN", antiban))
    args = ["-s", f"RULES_DIR={rules}", "-s", "INCREMENTAL_STATE_URI="]
    for setting in settings:
        args += ["-s", setting]
    return crawl("fingerprinted", tmp_path, *args, site=server.url, timeout=60)


def reference(server: FingerprintServer, target: str = "chrome") -> Visit:
    """What curl_cffi itself presents for ``target``, fetching directly."""
    before = len(server.visits)
    curl_cffi.requests.get(f"{server.url}/ref", impersonate=target, verify=False, timeout=10)
    return server.visits[before]


def assert_chrome(visit: Visit, ref: Visit) -> None:
    assert ja4(visit.hello) == ja4(ref.hello)
    assert ja3n(visit.hello) == ja3n(ref.hello)  # Chrome shuffles its extensions: JA3 sorted
    header, _, _ = ja4_parts(visit.hello)
    assert header.startswith("t13d15") and header.endswith("h2")  # 15 ciphers, ALPN h2 first
    assert is_grease(visit.hello.ciphers[0]) and visit.hello.ciphers[1:] == CHROME_CIPHERS
    assert visit.hello.alpn[0] == b"h2"
    agent = visit.header("User-Agent") or ""
    assert agent == ref.header("User-Agent") and "Chrome/" in agent and "Headless" not in agent
    assert visit.header("sec-ch-ua") == ref.header("sec-ch-ua")
    assert '"Google Chrome"' in (visit.header("sec-ch-ua") or "")
    assert visit.header("Accept") == ref.header("Accept")


@pytest.mark.timeout(90)
def test_impersonated_crawl_presents_chromes_fingerprint_and_headers(tmp_path: Path):
    with FingerprintServer(tmp_path, fail_once=("/page",)) as server:
        ref = reference(server)
        retries = ("BAN_RETRY_TIMES=2", "BAN_RETRY_DELAY=0.1")
        run = crawl_rule(tmp_path, server, "antiban: {impersonate: chrome}", *retries)
        plain = crawl_rule(tmp_path, server, "")
    assert run.returncode == 0, run.log[-3000:]
    assert [item["title"] for item in run.items] == ["Page /page"]
    visits = [v for v in server.visits if v.request_line.split(" ")[1:2] != ["/ref"]][:4]
    paths = [v.request_line.split(" ")[1] for v in visits]
    assert paths == ["/start", "/page", "/start", "/page"]  # the 503, retried from the start
    start, busy, page = visits[0], visits[1], visits[3]
    for visit in visits:
        assert_chrome(visit, ref)
    # The 503 went through the ban middleware and was retried, impersonated again.
    assert "'antiban/bans/status_503': 1" in run.log and "'antiban/retries/count': 1" in run.log
    # Scrapy's redirect and cookie middlewares did their work: one Cookie header, each time.
    assert busy.header("Cookie") == "visitor=v42"
    assert page.request_line.startswith("GET /page ")
    assert [v for k, v in page.headers if k.lower() == "cookie"] == ["visitor=v42"]
    # A navigation from /start: same-origin, as the profile says (curl_cffi alone says "none").
    assert (start.header("sec-fetch-site"), page.header("sec-fetch-site")) == (
        "none",
        "same-origin",
    )
    # The browser's header order: curl_cffi's for the target (extra headers where it puts them).
    names = [k.lower() for k, _ in page.headers if k.lower() not in ("cookie", "referer")]
    assert names == [k.lower() for k, _ in ref.headers if k.lower() != "referer"]
    assert "'antiban/impersonate/requests': 4" in run.log

    # Without impersonation, Twisted's OpenSSL handshake: another client altogether.
    assert plain.returncode == 0, plain.log[-3000:]
    twisted = server.visits[-1]
    assert ja4(twisted.hello) != ja4(ref.hello)
    assert not any(is_grease(c) for c in twisted.hello.ciphers)  # no browser omits GREASE
    assert b"h2" not in twisted.hello.alpn and twisted.header("user-agent") != ref.header(
        "user-agent"
    )


@pytest.mark.timeout(90)
def test_impersonated_crawl_through_an_http_proxy_with_credentials(tmp_path: Path, monkeypatch):
    require_tinyproxy()
    proxy = TinyProxy("127.0.0.2", tmp_path, auth=("fpuser", "fp-Pa55w0rd")).start()
    monkeypatch.setenv("FP_PROXIES", proxy.url)
    try:
        with FingerprintServer(tmp_path) as server:
            ref = reference(server)
            run = crawl_rule(
                tmp_path, server, "antiban: {impersonate: chrome, proxies: {env: FP_PROXIES}}"
            )
    finally:
        proxy.stop()
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.items) == 1
    visits = [v for v in server.visits if v is not ref]
    assert len(visits) == 2 and {v.peer for v in visits} == {"127.0.0.2"}  # via tinyproxy
    for visit in visits:
        assert_chrome(visit, ref)
        assert visit.header("Proxy-Authorization") is None
    assert "fp-Pa55w0rd" not in run.log


class Socks5Proxy:
    """A minimal SOCKS5 server (RFC 1928/1929: CONNECT, user name and password) whose outgoing
    connections leave from ``bind``."""

    def __init__(self, bind: str, user: str, password: str) -> None:
        self.bind, self.auth = bind, (user.encode(), password.encode())
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"socks5://{user}:{password}@127.0.0.1:{self.port}"
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            _, n = conn.recv(2)
            if 2 not in conn.recv(n):
                conn.sendall(b"\x05\xff")
                return
            conn.sendall(b"\x05\x02")
            _, ulen = conn.recv(2)
            user = conn.recv(ulen)
            password = conn.recv(conn.recv(1)[0])
            ok = (user, password) == self.auth
            conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
            _, _, _, kind = conn.recv(4)
            if kind == 3:
                host = conn.recv(conn.recv(1)[0]).decode()
            elif kind == 4:  # curl resolves "localhost" itself, to ::1 first
                host = {"::1": "127.0.0.1"}.get(socket.inet_ntop(socket.AF_INET6, conn.recv(16)))
            else:
                host = socket.inet_ntoa(conn.recv(4))
            (port,) = struct.unpack(">H", conn.recv(2))
            upstream = socket.create_connection((host, port), source_address=(self.bind, 0))
            conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton(self.bind) + b"\x00\x00")
            conn.settimeout(None)
            threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
            _pipe(conn, upstream)
        except (OSError, ValueError):
            conn.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.mark.timeout(90)
def test_impersonated_crawl_through_a_socks5_proxy(tmp_path: Path, monkeypatch):
    socks = Socks5Proxy("127.0.0.3", "sockuser", "s0cks:pass")
    monkeypatch.setenv("FP_PROXIES", socks.url)
    try:
        with FingerprintServer(tmp_path) as server:
            ref = reference(server)
            run = crawl_rule(
                tmp_path, server, "antiban: {impersonate: chrome, proxies: {env: FP_PROXIES}}"
            )
    finally:
        socks.close()
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.items) == 1
    visits = [v for v in server.visits if v is not ref]
    assert len(visits) == 2 and {v.peer for v in visits} == {"127.0.0.3"}  # via the SOCKS proxy
    for visit in visits:
        assert_chrome(visit, ref)
    assert "s0cks:pass" not in run.log
    assert "Skipping proxies" not in run.log


def test_curl_cffi_presents_chromes_http2_settings(tmp_path: Path):
    """HTTP/2: what the impersonating handler negotiates when a server offers h2 (Chrome's
    SETTINGS, window update and pseudo-header order: Akamai's fingerprint)."""
    with (
        FingerprintServer(tmp_path, h2=True) as server,
        pytest.raises(curl_cffi.requests.RequestsError),  # the server reads, never answers
    ):
        curl_cffi.requests.get(f"{server.url}/", impersonate="chrome", verify=False, timeout=5)
    visit = server.visits[0]
    assert visit.h2_settings == [(1, 65536), (2, 0), (4, 6291456), (6, 262144)]
    assert visit.h2_window_update == 15663105
    assert visit.h2_pseudo_headers == [":method", ":authority", ":scheme", ":path"]
    assert visit.hello.alpn[0] == b"h2"


RENDER_RULE = """
name: fingerprinted
args:
  site: https://localhost:1
item:
  collection: fingerprinted
start:
  - url: "{site}/static"
    page: page
  - url: "{site}/rendered"
    page: shown
pages:
  page:
    fields:
      title: {css: "h1::text", required: true}
  shown:
    render: js
    fields:
      title: {css: "h1::text", required: true}
antiban: {impersonate: chrome}
"""


@pytest.mark.timeout(120)
def test_rendered_pages_stay_on_the_browser_the_rest_impersonates(tmp_path: Path):
    from tests.dashboard.browser import require_chromium

    require_chromium()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "fingerprinted.yaml").write_text(RENDER_RULE)
    with FingerprintServer(tmp_path) as server:
        ref = reference(server)
        run = crawl(
            "fingerprinted", tmp_path, "-s", f"RULES_DIR={rules}", "-s", "INCREMENTAL_STATE_URI=",
            site=server.url, timeout=90,
        )  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    assert sorted(item["title"] for item in run.items) == ["Page /rendered", "Page /static"]
    by_path = {v.request_line.split(" ")[1]: v for v in server.visits if v.request_line}
    assert_chrome(by_path["/static"], ref)
    rendered = by_path["/rendered"]
    # Chromium's own request: a browser's handshake (GREASE: not Twisted's), header names in
    # its own case (not curl_cffi's), the agent of a Chrome profile.
    assert is_grease(rendered.hello.ciphers[0])
    names = [k for k, _ in rendered.headers]
    assert "User-Agent" in names and "user-agent" not in names
    assert "Chrome/" in (rendered.header("User-Agent") or "")
    assert "'antiban/impersonate/requests': 1" in run.log  # /static; /rendered was Chromium's
    assert "'playwright/page_count': 1" in run.log
