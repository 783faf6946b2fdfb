"""Real parts for the anti-ban tests: tinyproxy forward proxies, a tarpit, a dead port, crawls.

Each tinyproxy listens on 127.0.0.1 and makes its outgoing connections from its own loopback
address (``Bind 127.0.0.N``), so the target sees one client address per proxy.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.net import free_port, wait_for_port

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
REPO = Path(__file__).resolve().parents[3]
CRAWL_SCRIPT = Path(__file__).with_name("crawl_books.py")


def require_tinyproxy() -> None:
    if not os.access(TINYPROXY, os.X_OK):
        pytest.skip("tinyproxy is not installed (apt-get install tinyproxy, or `make system-deps`)")


@dataclass
class TinyProxy:
    """One tinyproxy process; ``url`` (credentials included) is what goes in PROXY_LIST."""

    bind: str
    workdir: Path
    auth: tuple[str, str] | None = None
    port: int = 0
    process: subprocess.Popen | None = None

    def start(self) -> TinyProxy:
        self.port = free_port()
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            f"Bind {self.bind}",
            "Timeout 15",
            "Allow 127.0.0.1",
            "MaxClients 40",
            "LogLevel Warning",
            "DisableViaHeader Yes",
        ]
        if self.auth:
            lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
        conf = self.workdir / f"tinyproxy-{self.port}.conf"
        conf.write_text("\n".join(lines) + "\n")
        log = open(self.workdir / f"tinyproxy-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [TINYPROXY, "-d", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_for_port(self.port)
        return self

    @property
    def url(self) -> str:
        auth = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class Tarpit:
    """Accepts TCP connections (the kernel's backlog does) and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()


@dataclass
class CrawlResult:
    returncode: int
    fetched: dict[str, str]  # url -> <h1> text
    errors: list[str]
    stats: dict[str, object]
    log: str
    seconds: float


def run_crawl(
    urls: list[str], settings: dict[str, object], tmp_path: Path, timeout: float = 60
) -> CrawlResult:
    """Crawl ``urls`` in a subprocess with the project's middlewares plus ``settings``."""
    out = tmp_path / f"result-{time.monotonic_ns()}.json"
    args = {"urls": urls, "settings": settings, "out": str(out)}
    env = dict(os.environ, PYTHONPATH=str(REPO))
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(CRAWL_SCRIPT), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )
    seconds = time.monotonic() - started
    data = (
        json.loads(out.read_text()) if out.exists() else {"fetched": {}, "errors": [], "stats": {}}
    )
    return CrawlResult(
        proc.returncode,
        data["fetched"],
        data["errors"],
        data["stats"],
        proc.stdout + proc.stderr,
        seconds,
    )


def self_signed_cert(workdir: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (Scrapy does not verify certificates by default)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "cert.pem", workdir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class ThreadedApp:
    """An aiohttp app served on 127.0.0.1 from a thread, over HTTPS when given an SSL context."""

    def __init__(self, app, ssl_context=None) -> None:
        self.app = app
        self.ssl = ssl_context
        self.port = free_port()
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self):
        import asyncio
        import threading

        from aiohttp import web

        ready = threading.Event()

        async def serve() -> None:
            runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=self.ssl).start()
            self._stop = asyncio.Event()
            ready.set()
            await self._stop.wait()
            await runner.cleanup()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("test site did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def HttpsSampleSite(workdir: Path, books: int = 10, middlewares: tuple = ()) -> ThreadedApp:  # noqa: N802
    """The sample site over HTTPS (a self-signed certificate), for CONNECT tunnels."""
    import ssl

    from tests.sample_site import create_app

    cert, key = self_signed_cert(workdir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return ThreadedApp(create_app(books, middlewares=middlewares), context)
