"""The data service's edges (issue 21), each attack reproduced on the ASGI app (the real service
for what needs a socket: tests/crawler/service/test_service_memory.py):

- credentials are checked before a body is read, bodies are bounded while they arrive, and a
  refused request never gets its input echoed back whole;
- GETs change nothing: a listing naming a new sort or filter field creates no index (it is a
  400), only the settings, the item types and an admin's explicit request do;
- Host headers of other names (DNS rebinding) are a 400; every answer carries the security
  headers;
- a crafted cursor is a 400, never a 500; CSV exports neutralise formulas; previews run a few at
  once and are bounded in time.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from crawler.service.api_tokens import TokenFile
from crawler.store.browse import encode_cursor
from tests.crawler.service.conftest import Service, make_service
from tests.crawler.service.test_service_items import seed

MB = 1024 * 1024
SECURITY = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def admin_headers(service: Service) -> dict[str, str]:
    token, _ = TokenFile(service.tmp / "secrets" / "tokens.json").create("root", role="admin")
    return {"Authorization": f"Bearer {token}"}


# -- bounded before authenticated ----------------------------------------------------------------


def test_credentials_are_checked_before_the_body_and_bodies_are_bounded(sqlite_service) -> None:
    service, client = sqlite_service, sqlite_service.client
    big = json.dumps({"yaml": "a" * (3 * MB)})
    # no credentials: 401 whatever the body (and the body is not parsed: not even a 422)
    for body in (big, "{not json", ""):
        answer = client.put("/api/rules/x", content=body, headers={"content-type": "x"})
        assert answer.status_code == 401, answer.text
    assert client.post("/api/rules/validate", content=big).status_code == 401
    # with them: over the route's bound (2.2 MB for a rule) is a 413 before it is parsed
    answer = client.put("/api/rules/x", content=big, headers=service.auth)
    assert answer.status_code == 413 and "2,200,000" in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        for _ in range(100):
            yield b"a" * MB

    answer = client.post("/api/rules/validate", content=chunks(), headers=service.auth)
    assert answer.status_code == 413, answer.text
    # other routes: SERVICE_BODY_MAX (64 KiB)
    answer = client.post(
        "/api/schedules/sample_books/pause", content=b"x" * 70_000, headers=service.auth
    )
    assert answer.status_code == 413
    # within the bound it is read and parsed as before
    ok = client.post("/api/rules/validate", json={"yaml": "name: x\n"}, headers=service.auth)
    assert ok.status_code == 200


def test_a_refused_body_is_never_echoed_back(sqlite_service) -> None:
    service, client = sqlite_service, sqlite_service.client
    secret = "SECRET-" + "z" * 200_000
    answers = [
        client.post("/api/rules/validate", json={"yaml": [secret]}, headers=service.auth),
        client.post("/api/rules/validate", json={"nope": secret}, headers=service.auth),
        client.put("/api/rules/x", json={"yaml": {"a": secret}}, headers=service.auth),
        client.get("/api/collections/books/items", params={"limit": secret[:20_000]}),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text[:200]
        assert len(answer.content) < 3000, len(answer.content)
        assert "z" * 100 not in answer.text
    detail = answers[0].json()["detail"][0]
    assert detail["loc"] == ["body", "yaml"] and detail["input"].endswith("…")


# -- GETs change nothing ---------------------------------------------------------------------------


def indexes_of(service: Service) -> set[str]:
    path = service.settings.get("STORE_URI").removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index'")}


def settled_indexes(service: Service, timeout: float = 15) -> set[str]:
    """The store's indexes once the service's background thread made the declared ones."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = indexes_of(service)
        if sum("'$.\"price\"'" in sql or '"price"' in sql for sql in found if sql) >= 1:
            time.sleep(1.5)  # one more tick of the background thread: nothing else comes
            if indexes_of(service) == found:
                return found
        time.sleep(0.1)
    raise AssertionError(f"the declared indexes were not made within {timeout}s")


def test_gets_with_new_fields_create_no_index_and_are_refused(sqlite_service) -> None:
    service, client = sqlite_service, sqlite_service.client
    seed(service)
    before = settled_indexes(service)
    queries = [
        "sort=title", "sort=-title", "f.title=x", "f.color=red&sort=price", "f.tag=a&sort=-weight",
    ]  # fmt: skip
    for query in queries:
        answer = client.get(f"/api/collections/books/items?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert "price" in answer.json()["detail"]  # it names the fields it may use
        assert client.get(f"/api/collections/books/export?format=csv&{query}").status_code == 400
    # declared fields work, and create nothing either
    assert client.get("/api/collections/books/items?sort=-price&f.tag=a").status_code == 200
    assert client.get("/api/changes?collection=books").status_code == 200
    time.sleep(1.5)  # a tick of the background thread
    assert indexes_of(service) == before
    fields = {c["name"]: c["fields"] for c in client.get("/api/collections").json()["items"]}
    assert "title" not in fields["books"] and "price" in fields["books"]


def test_an_admin_adds_an_index_explicitly(sqlite_service) -> None:
    service, client = sqlite_service, sqlite_service.client
    seed(service)
    before = settled_indexes(service)
    body = {"collection": "books", "fields": ["tag", "url"]}
    # an editor may not; an admin may, and then the field may be used
    assert client.post("/api/admin/indexes", json=body, headers=service.auth).status_code == 403
    admin = admin_headers(service)
    answer = client.post("/api/admin/indexes", json=body, headers=admin)
    assert answer.status_code == 200 and answer.json()["added"] is True
    assert client.get("/api/collections/books/items?f.tag=a&sort=url").status_code == 200
    deadline = time.monotonic() + 15
    while indexes_of(service) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    new = indexes_of(service) - before
    assert len(new) == 1 and '"url"' in next(iter(new)), new
    bad = client.post("/api/admin/indexes", json={**body, "fields": ["$where"]}, headers=admin)
    assert bad.status_code == 400


# -- Host allow-list, security headers -------------------------------------------------------------


@pytest.fixture
def dashboard_service(tmp_path: Path) -> Iterator[Service]:
    """The service with a dashboard of one page."""
    dist = tmp_path / "dist"
    dist.mkdir()
    page = '<!doctype html><html><head><script type="module" src="assets/app.js"></script>'
    (dist / "index.html").write_text(page + "</head><body></body></html>", encoding="utf-8")
    yield from make_service("sqlite", tmp_path, SERVICE_DASHBOARD_DIR=str(dist))


def test_dns_rebinding_host_names_get_400(dashboard_service) -> None:
    client = dashboard_service.client
    for host in (
        "attacker.example",
        "attacker.example:80",
        "127.0.0.1.attacker.example",
        "localhost.attacker.example",
        "testserver.attacker.example",
        "a b",
        "",
    ):
        for path in ("/api/rules", "/api/collections", "/", "/docs", "/api/runs/x/log"):
            answer = client.get(path, headers={"host": host})
            assert answer.status_code == 400, (host, path, answer.status_code)
            assert answer.headers["connection"] == "close"
            assert answer.headers["x-frame-options"] == "DENY"
            assert "attacker" not in answer.text or len(answer.text) < 400
    # the names it answers to: loopback names on its port (the TestClient's is none: any),
    # SERVICE_ALLOWED_HOSTS (here the TestClient's own name)
    for host in ("testserver", "127.0.0.1", "localhost:80", "[::1]"):
        assert client.get("/api/rules", headers={"host": host}).status_code == 200, host


def test_every_answer_has_the_security_headers(dashboard_service) -> None:
    service, client = dashboard_service, dashboard_service.client
    answers = {
        "api": client.get("/api/rules"),
        "401": client.put("/api/rules/x", json={"yaml": ""}),
        "404": client.get("/api/collections/nope/items"),
        "413": client.put("/api/rules/x", content=b"x" * (3 * MB), headers=service.auth),
        "422": client.get("/api/collections/nope/items?limit=x"),
        "openapi": client.get("/openapi.json"),
        "docs": client.get("/docs"),
        "index": client.get("/"),
        "route": client.get("/items/books"),  # the dashboard's own routes
    }
    for name, answer in answers.items():
        for header, value in SECURITY.items():
            assert answer.headers.get(header) == value, (name, header)
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, name
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], name
    # the dashboard's page: a new nonce each time, in its policy and its meta tag
    index, again = answers["index"], client.get("/")
    assert index.headers["cache-control"] == "no-store"
    nonce = index.text.split('name="csp-nonce" content="')[1].split('"')[0]
    assert f"'nonce-{nonce}'" in index.headers["content-security-policy"]
    assert nonce not in again.text


# -- cursors, exports ------------------------------------------------------------------------------


def test_crafted_cursors_are_400_without_a_traceback(sqlite_service, caplog) -> None:
    service, client = sqlite_service, sqlite_service.client
    seed(service)
    service.store.dead_letter("books", [{"x": 1}], ["no key"])
    crafted = [
        "zzz",
        "!!!!",
        "e30",  # {}
        encode_cursor(["r", {"$gt": ""}]),
        encode_cursor(["r", 2**70]),
        encode_cursor(["r", "1"]),
        encode_cursor(["r", 1.5]),
        encode_cursor(["a", None, "x"]),
        encode_cursor(["r", 1, 2, 3, 4, 5]),
        encode_cursor([[[[[[]]]]]]),
        "W" * 5000,
        "WzEs" + "WzEs" * 500,  # "[1,[1,..." deep
    ]
    paths = [
        "/api/collections/books/items?cursor={}",
        "/api/collections/books/items?sort=-price&cursor={}",
        "/api/collections/books/dead?cursor={}",
        "/api/changes?collection=books&cursor={}",
        "/api/runs?cursor={}",
    ]
    with caplog.at_level(logging.DEBUG):
        for cursor in crafted:
            for path in paths:
                answer = client.get(path.format(cursor))
                assert answer.status_code == 400, (cursor[:40], path, answer.text[:300])
                detail = answer.json()["detail"]
                assert "cursor" in detail and "\n" not in detail and len(detail) < 500
    assert "Traceback" not in caplog.text


def test_csv_exports_neutralise_formulas(sqlite_service) -> None:
    service, client = sqlite_service, sqlite_service.client
    texts = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3+4", "@SUM(A1)", "\t=1", "\r=1"]
    items = [{"url": f"http://x/{i}", "note": t, "price": -i} for i, t in enumerate(texts)]
    items.append({"url": "http://x/plain", "note": "a=b", "price": 3, "=col": "v"})
    service.store.upsert_many("sheets", items, ("url",))
    answer = client.get("/api/collections/sheets/export?format=csv")
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    notes = {r["url"]: r["note"] for r in rows}
    for i, text in enumerate(texts):
        assert notes[f"http://x/{i}"] == "'" + text
    assert notes["http://x/plain"] == "a=b"
    assert {r["price"] for r in rows} == {"0", "-1", "-2", "-3", "-4", "-5", "3"}  # numbers stay
    assert "'=col" in rows[0] and "=col" not in rows[0]
    # JSON exports are data, not spreadsheets: as stored
    lines = client.get("/api/collections/sheets/export?format=jsonl").text.splitlines()
    assert {json.loads(line)["note"] for line in lines} >= set(texts)


# -- previews: a few at once, bounded in time ------------------------------------------------------


class SlowSite:
    """A page on 127.0.0.1 that answers only when ``release`` is set (or never)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.asked.set()
                if not site.release.wait(60):
                    return
                body = b"<html><body><a href='/x'>x</a></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_site() -> Iterator[SlowSite]:
    site = SlowSite()
    yield site
    site.close()


def preview_body(service: Service, url: str) -> dict:
    text = (service.rules_dir / "sample_books.yaml").read_text(encoding="utf-8")
    return {"yaml": text.replace("name: sample_books", "name: draft_books"), "url": url + "/",
            "args": {"site": url}}  # fmt: skip


def previews_of(port: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if "preview" in line and f"127.0.0.1:{port}" in line:
            found.append(proc)
    return found


def post_preview(service: Service, body: dict, answers: list) -> None:
    answers.append(service.client.post("/api/rules/preview", json=body, headers=service.auth))


def test_previews_beyond_the_concurrency_are_429_at_once(tmp_path, slow_site) -> None:
    for service in make_service("sqlite", tmp_path, SERVICE_PREVIEW_CONCURRENCY=1):
        body = preview_body(service, slow_site.url)
        first: list = []
        worker = threading.Thread(target=post_preview, args=(service, body, first))
        worker.start()
        try:
            assert slow_site.asked.wait(30), "the first preview never fetched its page"
            started = time.monotonic()
            busy = service.client.post("/api/rules/preview", json=body, headers=service.auth)
            assert busy.status_code == 429, busy.text
            assert time.monotonic() - started < 5  # at once, not queued
            assert busy.headers["retry-after"] and "SERVICE_PREVIEW_CONCURRENCY" in busy.text
        finally:
            slow_site.release.set()
            worker.join(60)
        assert first and first[0].status_code == 200, first and first[0].text
        again = service.client.post("/api/rules/preview", json=body, headers=service.auth)
        assert again.status_code == 200, again.text  # the slot is free again


def test_a_preview_past_its_time_is_killed_whole(tmp_path, slow_site) -> None:
    port = int(slow_site.url.rsplit(":", 1)[1])
    for service in make_service("sqlite", tmp_path, SERVICE_PREVIEW_TIMEOUT=5):
        started = time.monotonic()
        answer = service.client.post(
            "/api/rules/preview", json=preview_body(service, slow_site.url), headers=service.auth
        )
        assert answer.status_code == 422 and "took longer than 5 s" in answer.text
        assert time.monotonic() - started < 20
        assert previews_of(port) == []
