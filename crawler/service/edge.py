"""The edge of the data service: what holds for every request and every answer, around all of
it (the API, the dashboard's assets, the docs pages and every error, a 500 included).

- **Host allow-list.** A request is answered only when its Host header names this service: a
  loopback name (``127.0.0.1``, ``localhost``, ``[::1]``) or the address the service is bound
  to, on the port it listens on; the host of ``SIGNIN_BASE_URL`` (on its port); a name of
  ``SERVICE_ALLOWED_HOSTS``. Any other Host is a 400. A web page whose name an attacker points at
  127.0.0.1 (DNS rebinding) sends its own name as Host, so it is refused, and with it the reads
  that are open on loopback.
- **A body left unread ends the connection.** An answer given before the request's body was
  read whole (refused by the gate, :mod:`crawler.service.gate`: no credentials, too large)
  carries ``Connection: close``, so the server stops reading the upload there instead of
  taking in (and throwing away) the rest of it.
- **Security headers** on every answer: a Content-Security-Policy (the dashboard's: everything
  from this service, no inline script, no framing; a route may set its own, as the docs pages do
  with the hashes of their inline scripts), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, and
  ``Cross-Origin-Opener-Policy``/``Cross-Origin-Resource-Policy: same-origin``.

>>> split_host("127.0.0.1:6800"), split_host("[::1]:80"), split_host("Example.COM")
(('127.0.0.1', 6800), ('[::1]', 80), ('example.com', None))
>>> split_host("evil.test:99999"), split_host("a b"), split_host("")
(None, None, None)
>>> hosts = AllowedHosts("127.0.0.1", "https://crawler.example.com", ["proxy.lan"])
>>> hosts.allows("127.0.0.1:6800", "http", 6800), hosts.allows("localhost:6801", "http", 6800)
(True, False)
>>> hosts.allows("crawler.example.com", "https", 6800), hosts.allows("proxy.lan:8080", "http", 1)
(True, True)
>>> hosts.allows("attacker.example:6800", "http", 6800), hosts.allows(None, "http", 6800)
(False, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse

from crawler.core.addresses import DEFAULT_PORTS

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})
_NAME = re.compile(r"^(\[[0-9a-f:.]{2,45}\]|[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9_])?)$")
_PORT = re.compile(r"^:([0-9]{1,5})$")

#: The dashboard's policy: scripts, styles, data and fonts from this service only (the dashboard
#: is built with no inline script; ECharts and CodeMirror set styles from script, which only
#: ``style-src-attr`` governs), images from here or ``data:`` URLs, no plugins, no <base>, forms
#: posting here only, and no page of another site may frame it.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def split_host(value: str | None) -> tuple[str, int | None] | None:
    """``(name, port)`` of a Host header (the name lower-cased, an IPv6 literal in brackets, the
    port None when not given); None when it is not a host."""
    if not value or len(value) > 300:
        return None
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[: end + 1], value[end + 1 :]) if end > 0 else (value, "")
    else:
        name, sep, port_text = value.partition(":")
        rest = sep + port_text
    if not _NAME.match(name):
        return None
    if not rest:
        return name, None
    match = _PORT.match(rest)
    if match is None or not 0 < int(match.group(1)) < 65536:
        return None
    return name, int(match.group(1))


def _bracketed(host: str) -> str:
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class AllowedHosts:
    """The Host names the service answers to. ``bound``: the address it listens on;
    ``base_url``: its public address (``SIGNIN_BASE_URL``); ``extra``: ``SERVICE_ALLOWED_HOSTS``
    (``name`` for any port, ``name:port``). A malformed entry raises ValueError."""

    def __init__(self, bound: str, base_url: str, extra: Iterable[str]) -> None:
        self.listening = set(LOOPBACK_NAMES)  # on the port the service listens on
        if _bracketed(bound) not in WILDCARDS:
            self.listening.add(_bracketed(bound))
        self.fixed: dict[str, set[int | None]] = {}
        if base_url:
            parts = urlsplit(base_url)
            if not parts.hostname:
                raise ValueError(f"SIGNIN_BASE_URL has no host: {base_url[:100]!r}")
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
            self.fixed.setdefault(_bracketed(parts.hostname), set()).add(port)
        for entry in extra:
            found = split_host(entry)
            if found is None:
                raise ValueError(
                    f"SERVICE_ALLOWED_HOSTS: {str(entry)[:100]!r} is not a host name or host:port"
                )
            self.fixed.setdefault(found[0], set()).add(found[1])

    def allows(self, host: str | None, scheme: str, listening_port: int | None) -> bool:
        found = split_host(host)
        if found is None:
            return False
        name, port = found
        if port is None:
            port = DEFAULT_PORTS.get(scheme, 80)
        if name in self.listening and (listening_port is None or port == listening_port):
            return True
        ports = self.fixed.get(name, set())
        return None in ports or port in ports

    def names(self) -> str:
        return ", ".join(sorted(self.listening | set(self.fixed)))


def _listening_port(scope: Scope) -> int | None:
    server = scope.get("server")
    if server and len(server) == 2 and isinstance(server[1], int):
        return server[1]
    return None  # a Unix socket: loopback names on any port


class BodyWatch:
    """Whether a request's body was read whole: ``receive`` as the app gets it, watched."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        headers = Headers(scope=scope)
        announced = headers.get("content-length", "0").strip() not in ("", "0")
        self.done = not (announced or "transfer-encoding" in headers)
        self._receive = receive

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.done = True
        return message


def secured(send: Send, body: BodyWatch | None = None) -> Send:
    """``send`` adding the security headers to the answer (those it does not set itself), and
    ``Connection: close`` when the request's body was not read whole."""

    async def send_secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                if name not in headers:
                    headers[name] = value
            if body is not None and not body.done:
                headers["connection"] = "close"
        await send(message)

    return send_secured


class Edge:
    """ASGI middleware around the whole app (crawler/service/app.py puts it outside Starlette's
    own error middleware, so that a 500 carries the headers too)."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = BodyWatch(scope, receive)
        receive, send = body.receive, secured(send, body)
        given = Headers(scope=scope).getlist("host")
        host = given[0] if len(given) == 1 else None
        if not self.hosts.allows(host, scope.get("scheme", "http"), _listening_port(scope)):
            shown = repr(host[:60]) if host else "none"
            detail = (
                f"Host {shown} is not one this service answers to ({self.hosts.names()} on its "
                "port, or SERVICE_ALLOWED_HOSTS)"
            )
            response = JSONResponse({"detail": detail}, 400, headers={"connection": "close"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
