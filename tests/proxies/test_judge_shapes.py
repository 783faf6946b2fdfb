"""Judges answering in unexpected shapes never crash ``check``: anonymity is unknown, liveness is
still decided; an unreachable judge, Redis or store is one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.net import aiohttp_app_in_thread, free_port
from tests.proxies.fleet import FleetProcess

ROOT = Path(__file__).resolve().parents[2]


def _shapes() -> dict[str, web.Response]:
    async def pairs(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername")[0]
        return web.json_response(
            {"remote_addr": peer, "headers": [[k, v] for k, v in request.headers.items()]}
        )

    async def text(request: web.Request) -> web.Response:
        return web.Response(text=request.transport.get_extra_info("peername")[0])

    async def html(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>Your IP: 1.2.3.4</body></html>", content_type="text/html"
        )

    async def truncated(request: web.Request) -> web.Response:
        return web.Response(
            text='{"remote_addr": "127.0.0.1", "headers": {"Ho', content_type="application/json"
        )

    return {"pairs": pairs, "text": text, "html": html, "truncated": truncated}


@pytest.fixture(scope="module")
def odd_judges() -> Iterator[dict[str, str]]:
    app = web.Application()
    for name, handler in _shapes().items():
        app.router.add_get(f"/{name}", handler)
    with aiohttp_app_in_thread(app, access_log=None) as base:
        yield {name: f"{base}/{name}" for name in _shapes()}


def proxies_cmd(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "proxies", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_odd_judges_leave_anonymity_unknown(
    odd_judges: dict[str, str], fleet: FleetProcess, tmp_path: Path
) -> None:
    specs = [s for s in fleet.fleet.specs if not s.auth]
    alive = [next(s for s in specs if s.kind == k) for k in ("elite", "anonymous")]
    dead = next(s for s in specs if s.kind == "dead")
    args = [f"127.0.0.1:{s.port}" for s in (*alive, dead)]
    for shape, url in odd_judges.items():
        res = proxies_cmd(
            "check", *args, "--timeout", "2",
            "-s", "PROXY_POOL_STORE=memory:", "-s", f"PROXY_POOL_JUDGE_URL={url}",
            "-s", f"PROXY_POOL_DATA_DIR={tmp_path}",
            cwd=tmp_path,
        )  # fmt: skip
        assert res.returncode == 0, (shape, res.stderr)
        assert "Traceback" not in res.stderr
        assert "2 alive, 1 dead" in res.stdout, (shape, res.stdout)
        if shape == "pairs":  # readable after all: classified
            assert f"127.0.0.1:{alive[0].port} alive" in res.stdout
            assert " elite " in res.stdout and " anonymous " in res.stdout
        else:
            assert res.stdout.count(" unknown https=") == 2, (shape, res.stdout)
            assert "cannot be read" in res.stderr  # said once, not per proxy
            assert res.stderr.count("cannot be read") == 1


def test_operating_errors_are_one_line(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    cases = [
        (
            ["check", "127.0.0.1:1", "-s", "PROXY_POOL_STORE=memory:",
             "-s", f"PROXY_POOL_JUDGE_URL=http://127.0.0.1:{free_port()}/"],
            "does not answer",
        ),
        (["stats", "-s", f"PROXY_POOL_STORE=redis://127.0.0.1:{free_port()}/0"], "is redis-server running"),
        (["list", "-s", f"PROXY_POOL_STORE=sqlite:///{not_a_dir}/proxies.db"], "cannot open the proxy store"),
        (["list", "-s", "PROXY_POOL_STORE=ftp://x/"], "is not understood"),
    ]  # fmt: skip
    for args, message in cases:
        res = proxies_cmd(*args, "-s", f"PROXY_POOL_DATA_DIR={tmp_path}", cwd=tmp_path)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
