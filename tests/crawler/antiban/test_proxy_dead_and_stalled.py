"""Dead proxies in a real ``scrapy crawl`` (subprocess) against real loopback proxies: one that
accepts connections and never answers a byte, one that refuses them. The crawl gives up on such
a proxy within ``PROXY_DOWNLOAD_TIMEOUT``, stops as ``blocked`` once no proxy has worked for
``PROXY_WAIT_MAX`` (counted across retries), and a SIGTERM ends it as ``interrupted`` within
5 s even with a download stuck in a stalled proxy (``PROXY_SHUTDOWN_GRACE``)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from crawler.core.exitcodes import EXIT_CODES
from crawler.store import open_store
from tests.crawler.crawl import ROOT, SCRAPY, store_args
from tests.net import free_port


class StalledProxy:
    """Accepts TCP connections on 127.0.0.1, counts them, and never answers a byte; the
    connections stay open until :meth:`close`."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:  # the 0.2 s timeout, or closed
                continue
            self.accepted.append(conn)

    def wait_for_a_connection(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.accepted:
            assert time.monotonic() < deadline, f"nothing connected to {self.url} in {timeout}s"
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def stalled():
    proxy = StalledProxy()
    yield proxy
    proxy.close()


def crawl_args(site: str, tmp_path: Path, proxy: str, *settings: str) -> list[str]:
    args = [*SCRAPY, "crawl", "sample_books", "-a", f"site={site}", *store_args(tmp_path)]
    for setting in (f"PROXY_LIST={proxy}", "INCREMENTAL_STATE_URI=", "LOG_LEVEL=INFO", *settings):
        args += ["-s", setting]
    return args


def only_run(tmp_path: Path) -> dict:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        (run,) = store.runs()
    return run


def logged_at(log: str, pattern: str) -> datetime:
    match = re.search(rf"^(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d) .*{pattern}", log, re.M)
    assert match, (pattern, log[-3000:])
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("kind", ["stalled", "refusing"])
def test_a_dead_proxy_is_given_up_within_its_timeout_and_the_crawl_stops_blocked(
    sample_site, tmp_path, stalled, kind
):
    proxy, reason = (
        (stalled.url, "timeout")
        if kind == "stalled"
        else (f"http://127.0.0.1:{free_port()}", "connection_refused")
    )
    timeout, wait_max = 2, 3
    started = time.monotonic()
    proc = subprocess.run(
        crawl_args(
            sample_site, tmp_path, proxy,
            f"PROXY_DOWNLOAD_TIMEOUT={timeout}",
            f"PROXY_WAIT_MAX={wait_max}",
            # back from its bench before the wait ends: it fails again, and the wait goes on
            # from where it was instead of starting over with every retry
            "PROXY_FAILURE_BACKOFF=1",
        ),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert proc.returncode == EXIT_CODES["blocked"], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    run = only_run(tmp_path)
    assert (run["status"], run["finish_reason"]) == ("blocked", "antiban_no_proxy")
    opened = logged_at(proc.stderr, "Spider opened")
    failed = logged_at(proc.stderr, rf"WARNING: Proxy {re.escape(proxy)} failed \({reason}\)")
    closed = logged_at(proc.stderr, r"Spider closed \(antiban_no_proxy\)")
    # log times have whole seconds: one second of slack each. Waiting afresh with each retry
    # (the proxy back from its bench, failing again), it took 7 s (refusing) and 10 s (stalled)
    assert (failed - opened).total_seconds() <= timeout + 1
    assert (closed - failed).total_seconds() <= wait_max + 1
    if kind == "stalled":
        assert stalled.accepted  # it was tried, and held the connection


def test_sigterm_ends_a_crawl_stuck_on_a_stalled_proxy_within_5_s(sample_site, tmp_path, stalled):
    """The default PROXY_DOWNLOAD_TIMEOUT (8 s) would hold a graceful shutdown for up to 8 s;
    the connection is cut after PROXY_SHUTDOWN_GRACE (2 s) instead."""
    proc = subprocess.Popen(
        crawl_args(sample_site, tmp_path, stalled.url),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stalled.wait_for_a_connection(timeout=60)
        time.sleep(0.5)  # the request is in flight, stuck
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == EXIT_CODES["interrupted"], err[-3000:]
    assert took < 5, f"exited {took:.1f}s after SIGTERM"
    run = only_run(tmp_path)
    assert (run["status"], run["finish_reason"]) == ("interrupted", "shutdown")
    assert "The crawl is stopping: cut 1 connection(s) to proxies" in err
    assert f"Proxy {stalled.url} failed" not in err  # the cut is not the proxy's failure
    assert "Traceback" not in err
