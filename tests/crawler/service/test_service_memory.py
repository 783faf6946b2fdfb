"""Bounded before authenticated, against a real ``scrapy serve``: 100 MB bodies, sent in chunks
without credentials and with them, announced by Content-Length or chunked with no length, to the
routes that take the largest bodies, leave the service's memory within 50 MB of its resting
size (issue 21: six unauthenticated 100 MB requests once took it to 1.16 GB). The same process
refuses Host headers of other names (DNS rebinding)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.crawler.service.raw_http import send
from tests.dashboard.service import Service, Workspace

MB = 1024 * 1024
BODY = 100 * MB
BOUND = 50 * MB


class Peak:
    """The highest RSS of a process, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> Peak:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workspace = Workspace(Path(tmp_path_factory.mktemp("memory")), "http://127.0.0.1:9")
    with Service(workspace, "-s", "LOG_LEVEL=INFO") as service:
        yield service


def test_100_mb_bodies_leave_memory_within_50_mb_of_rest(served: Service) -> None:
    port = served.port
    auth = {"Authorization": f"Bearer {served.token}"}
    # warm up: every route and answer the attack uses once, small, so lazy imports are done
    assert send(port, "PUT", "/api/rules/x", size=10).status == 401
    assert send(port, "POST", "/api/rules/validate", size=3 * MB, headers=auth).status == 413
    assert send(port, "GET", "/api/rules").status == 200
    process = psutil.Process(served.proc.pid)
    rest = process.memory_info().rss

    attacks = [
        # (method, path, chunked, credentials, answers the attack may get)
        ("PUT", "/api/rules/sample", False, False, {401}),
        ("PUT", "/api/rules/sample", True, False, {401}),
        ("POST", "/api/rules/validate", True, False, {401}),
        ("POST", "/api/rules/preview", False, False, {401}),
        ("POST", "/api/collections/books/dead/replay", True, False, {401}),
        ("POST", "/api/auth/signout", True, False, {404, 413}),  # no sign-in configured
        ("POST", "/", True, False, {404, 405}),  # the dashboard's files
        ("PUT", "/api/rules/sample", False, True, {413}),  # announced: refused at once
        ("PUT", "/api/rules/sample", True, True, {413}),  # refused past 2.2 MB as it arrives
        ("POST", "/api/rules/validate", True, True, {413}),
        ("POST", "/api/rules/preview", True, True, {413}),
        ("POST", "/api/collections/books/dead/replay", False, True, {413}),
    ]
    answers = []
    with Peak(process.pid) as peak:
        for method, path, chunked, credentials, expected in attacks:
            sent = send(
                port, method, path, size=BODY, chunked=chunked, headers=auth if credentials else {}
            )
            answers.append((method, path, chunked, credentials, sent.status, sent.sent))
            # refused: an answer from the set, or (a race of the closing connection) the
            # connection ended long before the whole body was taken
            assert sent.status in expected or (sent.status is None and sent.sent < BODY), answers
            # the body is not taken in and thrown away: the connection ends with the answer
            assert sent.sent < BODY, answers
    after = process.memory_info().rss
    print(
        f"\nresting RSS {rest / MB:.1f} MB, peak {peak.peak / MB:.1f} MB, after {after / MB:.1f} "
        f"MB over {len(attacks)} bodies of 100 MB: {answers}"
    )
    assert peak.peak - rest < BOUND, (rest, peak.peak)
    assert after - rest < BOUND, (rest, after)
    assert send(port, "GET", "/api/rules").status == 200  # still serving


def test_dns_rebinding_host_headers_get_400_from_the_real_service(served: Service) -> None:
    """A page of attacker.example whose name now resolves to 127.0.0.1 sends its own name as
    Host: the reads open on loopback (items, rules, logs) are refused to it."""
    port = served.port
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}"):
        for path in ("/api/rules", "/api/collections", "/api/runs", "/"):
            answer = send(port, "GET", path, host=host)
            assert answer.status == 400, (host, path, answer.status)
            assert answer.headers["x-content-type-options"] == "nosniff"
    assert send(port, "GET", "/api/rules", host=f"localhost:{port}").status == 200
    assert send(port, "GET", "/api/rules", host="localhost:1").status == 400  # another port
