"""Who may do what, and what the service serves besides the API: tokens (file and
environment, hashed at rest, mode 0600), reads open on loopback only, the refusal of a public
bind without tokens, the docs pages with local assets, the dashboard or its fallback page,
and the proxy pool's summary and history."""

from __future__ import annotations

import json
import os
import re
import stat
import time

import pytest

from crawler.service.api_tokens import TokenFile, token_hash
from tests.crawler.crawl import scrapy
from tests.crawler.service.conftest import Service, make_service


def test_changes_need_a_valid_token(sqlite_service: Service) -> None:
    client = sqlite_service.client
    body = {"yaml": "name: x\n"}
    missing = client.post("/api/rules/validate", json=body)
    assert missing.status_code == 401 and "missing API token" in missing.json()["detail"]
    wrong = client.post(
        "/api/rules/validate", json=body, headers={"Authorization": "Bearer crw_x_y"}
    )
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API token"
    ok = client.post("/api/rules/validate", json=body, headers=sqlite_service.auth)
    assert ok.status_code == 200
    assert client.get("/api/rules").status_code == 200  # reads are open on loopback


def test_tokens_are_hashed_at_rest_shown_once_and_revocable(tmp_path) -> None:
    path = tmp_path / "tokens.json"
    result = scrapy(
        "tokens", "create", "ci", "--role", "admin", "-s", f"SERVICE_TOKENS_FILE={path}"
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert re.fullmatch(r"crw_[0-9a-f]{8}_[\w-]{40,}", token)
    text = path.read_text(encoding="utf-8")
    assert token not in text and token_hash(token) in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert TokenFile(path).verify(token).role == "admin"
    listing = scrapy("tokens", "list", "-s", f"SERVICE_TOKENS_FILE={path}").stdout
    assert "ci" in listing and token not in listing
    assert scrapy("tokens", "revoke", "ci", "-s", f"SERVICE_TOKENS_FILE={path}").returncode == 0
    assert TokenFile(path).verify(token) is None
    again = scrapy("tokens", "revoke", "ci", "-s", f"SERVICE_TOKENS_FILE={path}")
    assert again.returncode != 0 and "no token" in again.stderr


def test_environment_tokens_and_public_binds(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CRAWLER_SERVICE_TOKENS", "a-long-environment-token-1234")
    for service in make_service("sqlite", tmp_path, host="0.0.0.0"):
        client = service.client
        assert client.get("/api/rules").status_code == 401  # not loopback: reads need a token
        env = {"Authorization": "Bearer a-long-environment-token-1234"}
        assert client.get("/api/rules", headers=env).status_code == 200
        assert client.get("/api/rules", headers=service.auth).status_code == 200


def test_a_public_bind_without_tokens_is_refused(tmp_path) -> None:
    result = scrapy(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "1",
        "-s",
        f"SERVICE_TOKENS_FILE={tmp_path / 'none.json'}",
        env={"CRAWLER_SERVICE_TOKENS": ""},
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr and "Traceback" not in result.stderr


def test_serve_listens_on_loopback_by_default(tmp_path) -> None:
    import subprocess
    import sys

    from tests.crawler.crawl import ROOT
    from tests.net import free_port, wait_for_port

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "serve",
            "--port",
            str(port),
            "-s",
            f"STORE_URI=sqlite:///{tmp_path / 's.db'}",
            "-s",
            f"SCHEDULE_DIR={tmp_path}/sch",
            "-s",
            f"SERVICE_DATA_DIR={tmp_path}/svc",
            "-s",
            f"SERVICE_TOKENS_FILE={tmp_path}/t.json",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_for_port(port, timeout=60, process=proc)
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/collections", timeout=10) as r:
            assert json.loads(r.read()) == {"items": []}
        out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        listening = [line for line in out.splitlines() if f":{port} " in line]
        assert listening and all("127.0.0.1:" in line for line in listening)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_docs_pages_load_their_assets_from_this_service(sqlite_service: Service) -> None:
    client = sqlite_service.client
    assert client.get("/openapi.json").json()["paths"]["/api/collections"]
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls and all(u.startswith("/") for u in urls), urls
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
        for url in urls:
            assert client.get(url).status_code == 200


def test_dashboard_is_served_when_built_else_a_fallback_page(tmp_path) -> None:
    for service in make_service("sqlite", tmp_path / "a"):
        page = service.client.get("/")
        assert page.status_code == 200 and "/docs" in page.text
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>dashboard</html>", encoding="utf-8")
    (dist / "assets" / "app.js").write_text("console.log(1)", encoding="utf-8")
    for service in make_service("sqlite", tmp_path / "b", SERVICE_DASHBOARD_DIR=str(dist)):
        assert service.client.get("/").text == "<html>dashboard</html>"
        assert service.client.get("/assets/app.js").text == "console.log(1)"
        assert service.client.get("/runs/123").text == "<html>dashboard</html>"  # its routes
        assert service.client.get("/api/collections").json() == {"items": []}
        assert service.client.get("/api/nope").status_code == 404


def test_proxy_pool_summary_and_sampled_history(service: Service) -> None:
    assert service.client.get("/api/proxies/summary").status_code == 404
    from proxies.model import Proxy
    from proxies.pool_store import open_pool_store

    pool = open_pool_store(service.settings)
    pool.add([Proxy("127.0.0.1", 3000 + i, source=f"s{i % 2}") for i in range(6)])
    records = pool.all()
    for i, rec in enumerate(records):
        rec.alive = i < 4
        rec.latency = 0.05 * (i + 1) if rec.alive else None
        rec.successes, rec.failures = (3, 1) if rec.alive else (0, 2)
    pool.save(records)
    pool.close()
    service.store.record_run(
        {
            "run_id": "p1",
            "rule": "sample_books",
            "started_at": "2026-01-01",
            "stats": {"antiban/proxy/requests": 10, "antiban/proxy/a/success": 8},
        }
    )
    summary = service.client.get("/api/proxies/summary").json()
    assert summary["total"] == 6 and summary["alive"] == 4 and summary["dead"] == 2
    assert summary["by_state"] == {"alive": 4, "dead": 2}
    assert {s["source"] for s in summary["by_source"]} == {"s0", "s1"}
    assert summary["by_domain"] == [{"domain": "127.0.0.1", "requests": 10, "success_rate": 0.8}]
    assert summary["latency"]["p50"] == pytest.approx(150.0)
    assert sum(count for _, count in summary["latency"]["histogram"]) == 4
    sampler = service.client.app.state.sampler
    sampler.sample(now=time.time() - 7200)
    sampler.sample()
    history = service.client.get("/api/proxies/history", params={"hours": 1}).json()["items"]
    everything = service.client.get("/api/proxies/history").json()["items"]
    # the last hour: this sample (and the service's own first one, if it came after the pool
    # was made: it samples at start, in the background), never the one of two hours ago
    assert history and history[-1]["alive"] == 4 and history[-1]["dead"] == 2
    assert len(everything) == len(history) + 1
    assert min(p["t"] for p in everything) < time.time() - 7000
