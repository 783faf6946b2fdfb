"""The judge: a tiny HTTP(S) service that answers with what it sees of a request.

The validator fetches the judge through each proxy; the judge's answer (client address and the
proxy-revealing headers) tells how anonymous the proxy is. Run your own with
``python -m proxies judge --port 8899 [--tls-port 8900]``; the HTTPS side uses a self-signed
certificate (generated at start unless ``--cert``/``--key`` are given), so set
``PROXY_POOL_JUDGE_TLS_VERIFY = False`` for it.

The judge changes no state (every method on every path only answers what it saw), so it needs
no token and may listen on a public address, as it must for remote proxies to reach it; such a
bind is warned about, because anyone can then see their own request headers echoed.

Answer (JSON): ``{"remote_addr": "1.2.3.4", "method": "GET", "path": "/", "headers": {...}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from proxies.anonymity import PROXY_HEADERS

__all__ = ["PROXY_HEADERS", "RunningJudge", "judge_app", "serve_judge", "start_judge"]


async def _judge(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.json_response(
        {
            "remote_addr": peer[0] if peer else None,
            "method": request.method,
            "path": request.path_qs,
            "headers": {k: v for k, v in request.headers.items()},
        },
        headers={"Connection": "close"},
    )


def judge_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _judge)
    return app


def self_signed_context(directory: str | Path, host: str = "127.0.0.1") -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed ECDSA certificate for ``host``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxy-pool judge")])
    now = datetime.datetime.now(datetime.UTC)
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    cert_path, key_path = directory / "judge.crt", directory / "judge.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


@dataclass
class RunningJudge:
    runner: web.AppRunner
    host: str
    port: int
    tls_port: int | None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def https_url(self) -> str | None:
        return f"https://{self.host}:{self.tls_port}/" if self.tls_port else None

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_judge(
    host: str = "127.0.0.1",
    port: int = 0,
    tls_port: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> RunningJudge:
    """Start the judge on ``port`` (0: any free port) and, with ``tls_port``, HTTPS too."""
    runner = web.AppRunner(judge_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]  # the port the first site got (0 asks for any free one)
    tls_bound = None
    if tls_port is not None:
        if ssl_context is None:
            ssl_context = self_signed_context(tempfile.mkdtemp(prefix="judge-tls-"), host)
        tls_site = web.TCPSite(runner, host, tls_port, ssl_context=ssl_context, backlog=4096)
        await tls_site.start()
        tls_bound = runner.addresses[-1][1]
    return RunningJudge(runner, host, bound, tls_bound)


def serve_judge(
    host: str = "127.0.0.1",
    port: int = 8899,
    tls_port: int | None = None,
    cert: str | None = None,
    key: str | None = None,
) -> None:
    """Run the judge until interrupted (``scrapy proxies judge``)."""
    ctx = None
    if tls_port is not None and cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key or None)

    async def main() -> None:
        judge = await start_judge(host, port, tls_port, ctx)
        print(
            f"judge listening on {judge.url}"
            + (f" and {judge.https_url}" if judge.https_url else ""),
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await judge.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
