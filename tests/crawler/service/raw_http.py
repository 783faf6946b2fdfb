"""HTTP/1.1 by hand over a loopback socket, for the tests that send what no polite client sends: a
body of 100 MB in chunks (announced by Content-Length, or chunked with no length at all), a Host
header of another name. The answer is read as soon as the server gives it, while the body is
still going out; a server that closes the connection ends the upload there."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

CHUNK = 1024 * 1024


@dataclass
class Sent:
    status: int | None  # None: the connection ended before an answer could be read
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the server took before the upload ended
    seconds: float


def _status(raw: bytes) -> tuple[int | None, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        return None, {}, b""
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _complete(raw: bytes) -> bool:
    status, found, body = _status(raw)
    length = found.get("content-length")
    return status is not None and length is not None and len(body) >= int(length)


def send(
    port: int,
    method: str,
    path: str,
    *,
    size: int = 0,
    chunked: bool = False,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 20.0,
) -> Sent:
    """Send ``method path`` with a body of ``size`` bytes of JSON-looking filler, ``CHUNK`` at a
    time (chunked transfer coding when ``chunked``), reading the answer as it comes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Content-Type: application/json")
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    started = time.monotonic()
    deadline = started + timeout
    received = b""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        piece = b'{"yaml": "' + b"a" * (CHUNK - 10)
        try:
            while sent < size and time.monotonic() < deadline:
                data = piece[: min(CHUNK, size - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
                # an answer while the body goes out (the server refused it): read it at once,
                # then go on sending, as an attacker would, until the server stops taking it
                if not received and select.select([sock], [], [], 0.01)[0]:
                    received = sock.recv(65536)
            if chunked and sent >= size:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: the upload ends here
        try:
            while time.monotonic() < deadline and not _complete(received):
                if not select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    break
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except ConnectionResetError:
            pass
    status, found, body = _status(received)
    return Sent(status, found, body, sent, time.monotonic() - started)
