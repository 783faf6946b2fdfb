"""TLS client fingerprints for the impersonation tests: a ClientHello parser, JA3 and JA4, and a
loopback TLS server that records the ClientHello of every connection before it answers.

- :func:`parse_client_hello` reads TLS records (as they come off a socket) into a
  :class:`ClientHello`;
- :func:`ja3` (Salesforce's: MD5 of ``SSLVersion,Ciphers,Extensions,EllipticCurves,
  ECPointFormats``, GREASE values removed) and :func:`ja4` (FoxIO's JA4:
  ``t13d1516h2_<ciphers>_<extensions+signature algorithms>``);
- :class:`FingerprintServer`: peeks each connection's ClientHello (``MSG_PEEK``), then completes
  the handshake with Python's ssl and a self-signed certificate and answers HTTP/1.1 (ALPN
  offers http/1.1 only), recording the request's header lines in the order they came (``/start``
  redirects to ``/page`` with a cookie; ``fail_once`` paths answer 503 the first time). With
  ``h2=True`` it selects h2 and records the client's first SETTINGS and WINDOW_UPDATE frames
  and the order of its pseudo-headers, then closes (no answer: for fingerprints only).
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .support import self_signed_cert

# Extension types.
SNI, ALPN, GROUPS, POINT_FORMATS = 0x0000, 0x0010, 0x000A, 0x000B
SIG_ALGS, VERSIONS = 0x000D, 0x002B
TLS_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}


def is_grease(value: int) -> bool:
    """RFC 8701's reserved values: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


@dataclass
class ClientHello:
    version: int
    ciphers: list[int]
    extensions: list[int]
    groups: list[int] = field(default_factory=list)
    point_formats: list[int] = field(default_factory=list)
    signature_algorithms: list[int] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)
    alpn: list[bytes] = field(default_factory=list)
    server_name: str | None = None


def _u16s(data: bytes) -> list[int]:
    return [v for (v,) in struct.iter_unpack(">H", data[: len(data) // 2 * 2])]


def handshake_length(records: bytes) -> int | None:
    """Bytes of TLS records needed to hold the whole first handshake message, once known."""
    body = b""
    offset = 0
    while len(body) < 4:
        if len(records) < offset + 5:
            return None
        (length,) = struct.unpack(">H", records[offset + 3 : offset + 5])
        body += records[offset + 5 : offset + 5 + length]
        offset += 5 + length
    needed = 4 + int.from_bytes(body[1:4], "big")
    total, offset, got = 0, 0, 0
    while got < needed:
        if len(records) < offset + 5:
            return None
        (length,) = struct.unpack(">H", records[offset + 3 : offset + 5])
        offset += 5 + length
        got += length
        total = offset
    return total


def parse_client_hello(records: bytes) -> ClientHello:
    """The ClientHello in ``records`` (TLS records of content type 22, possibly several)."""
    body = b""
    offset = 0
    while offset + 5 <= len(records):
        kind, _, length = struct.unpack(">BHH", records[offset : offset + 5])
        if kind != 22:
            raise ValueError(f"not a handshake record: content type {kind}")
        body += records[offset + 5 : offset + 5 + length]
        offset += 5 + length
    if body[0] != 1:
        raise ValueError(f"not a ClientHello: handshake type {body[0]}")
    hello = body[4 : 4 + int.from_bytes(body[1:4], "big")]
    (version,) = struct.unpack(">H", hello[0:2])
    pos = 2 + 32  # version, random
    pos += 1 + hello[pos]  # session id
    (n,) = struct.unpack(">H", hello[pos : pos + 2])
    ciphers = _u16s(hello[pos + 2 : pos + 2 + n])
    pos += 2 + n
    pos += 1 + hello[pos]  # compression methods
    out = ClientHello(version, ciphers, [])
    if pos + 2 > len(hello):
        return out
    (n,) = struct.unpack(">H", hello[pos : pos + 2])
    pos += 2
    end = pos + n
    while pos + 4 <= end:
        kind, length = struct.unpack(">HH", hello[pos : pos + 4])
        data = hello[pos + 4 : pos + 4 + length]
        pos += 4 + length
        out.extensions.append(kind)
        if kind == SNI and len(data) > 5:
            (name_length,) = struct.unpack(">H", data[3:5])
            out.server_name = data[5 : 5 + name_length].decode("ascii", "replace")
        elif kind == ALPN:
            i = 2
            while i < len(data):
                out.alpn.append(data[i + 1 : i + 1 + data[i]])
                i += 1 + data[i]
        elif kind == GROUPS:
            out.groups = _u16s(data[2:])
        elif kind == POINT_FORMATS:
            out.point_formats = list(data[1 : 1 + data[0]])
        elif kind == SIG_ALGS:
            out.signature_algorithms = _u16s(data[2:])
        elif kind == VERSIONS:
            out.supported_versions = _u16s(data[1 : 1 + data[0]])
    return out


def ja3_text(hello: ClientHello) -> str:
    def join(values: list[int]) -> str:
        return "-".join(str(v) for v in values if not is_grease(v))

    return ",".join(
        [
            str(hello.version),
            join(hello.ciphers),
            join(hello.extensions),
            join(hello.groups),
            "-".join(str(v) for v in hello.point_formats),
        ]
    )


def ja3(hello: ClientHello) -> str:
    return hashlib.md5(ja3_text(hello).encode()).hexdigest()  # noqa: S324 (JA3 is MD5)


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "0" * 12


def _alpn_chars(alpn: list[bytes]) -> str:
    if not alpn or not alpn[0]:
        return "00"
    first = alpn[0]
    a, b = chr(first[0]), chr(first[-1])
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return a + b
    hexed = first.hex()
    return hexed[0] + hexed[-1]


def ja3n(hello: ClientHello) -> str:
    """JA3 of the extensions in sorted order: Chrome shuffles them on every connection."""
    shuffled = ClientHello(hello.version, hello.ciphers, sorted(hello.extensions), hello.groups)
    shuffled.point_formats = hello.point_formats
    return ja3(shuffled)


def ja4_parts(hello: ClientHello) -> tuple[str, str, str]:
    """JA4's three parts, readable (``ja4_r``): header, sorted ciphers, extensions_sigalgs."""
    versions = [v for v in hello.supported_versions if not is_grease(v)]
    version = TLS_VERSIONS.get(max(versions) if versions else hello.version, "00")
    ciphers = [c for c in hello.ciphers if not is_grease(c)]
    extensions = [e for e in hello.extensions if not is_grease(e)]
    header = (
        f"t{version}{'d' if SNI in extensions else 'i'}"
        f"{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}{_alpn_chars(hello.alpn)}"
    )
    sorted_ciphers = ",".join(f"{c:04x}" for c in sorted(ciphers))
    rest = ",".join(f"{e:04x}" for e in sorted(extensions) if e not in (SNI, ALPN))
    sig_algs = ",".join(f"{s:04x}" for s in hello.signature_algorithms if not is_grease(s))
    if sig_algs:
        rest = f"{rest}_{sig_algs}"
    return header, sorted_ciphers, rest


def ja4(hello: ClientHello) -> str:
    header, ciphers, rest = ja4_parts(hello)
    return f"{header}_{_hash12(ciphers)}_{_hash12(rest)}"


# -- the server --------------------------------------------------------------------------------


@dataclass
class Visit:
    """One connection: its ClientHello and, when it got that far, its request."""

    hello: ClientHello
    peer: str = ""
    request_line: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    h2_settings: list[tuple[int, int]] = field(default_factory=list)
    h2_window_update: int | None = None
    h2_pseudo_headers: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


# HPACK's static table entries of the pseudo-headers (RFC 7541, appendix A).
_PSEUDO = {1: ":authority", 2: ":method", 3: ":method", 4: ":path", 5: ":path"}
_PSEUDO.update({6: ":scheme", 7: ":scheme", 8: ":status"})


class FingerprintServer:
    """A loopback HTTPS server recording each connection's ClientHello (:attr:`visits`)."""

    def __init__(self, directory: Path, *, h2: bool = False, fail_once: tuple = ()) -> None:
        cert, key = self_signed_cert(directory)  # never verified: its names do not matter
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.context.set_alpn_protocols(["h2", "http/1.1"] if h2 else ["http/1.1"])
        self.h2 = h2
        self.fail_once = set(fail_once)  # paths answered 503 the first time
        self.visits: list[Visit] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"https://localhost:{self.port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FingerprintServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn, peer[0]), daemon=True).start()

    def _handle(self, conn: socket.socket, peer: str) -> None:
        conn.settimeout(5)
        try:
            peeked = b""
            while (needed := handshake_length(peeked)) is None or len(peeked) < needed:
                chunk = conn.recv(65536, socket.MSG_PEEK)  # left for the handshake to read
                if not chunk:
                    return
                if len(chunk) == len(peeked):
                    time.sleep(0.01)  # the rest of the ClientHello is on its way
                peeked = chunk
            visit = Visit(parse_client_hello(peeked[:needed]), peer)
            self.visits.append(visit)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                if tls.selected_alpn_protocol() == "h2":
                    self._read_h2(tls, visit)
                else:
                    self._answer_http1(tls, visit)
        except (OSError, ValueError, ssl.SSLError):
            return
        finally:
            conn.close()

    def _answer_http1(self, tls: ssl.SSLSocket, visit: Visit) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                return
            data += chunk
        lines = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        visit.request_line = lines[0]
        visit.headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]]
        path = lines[0].split(" ")[1]
        if path in self.fail_once:
            self.fail_once.discard(path)
            head = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
            body = b"busy"
        elif path == "/start":
            head = "HTTP/1.1 302 Found\r\nLocation: /page\r\nSet-Cookie: visitor=v42; Path=/\r\n"
            body = b""
        else:
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            body = f"<html><title>fp</title><body><h1>Page {path}</h1></body></html>".encode()
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        tls.sendall(head.encode() + body)

    def _read_h2(self, tls: ssl.SSLSocket, visit: Visit) -> None:
        data = b""
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
            frames = _frames(data[len(preface) :])
            if any(kind == 1 for kind, _, _ in frames):  # HEADERS: enough seen
                break
        for kind, flags, payload in _frames(data[len(preface) :]):
            if kind == 4 and not flags & 1:  # SETTINGS, not an ACK
                visit.h2_settings = [
                    struct.unpack(">HI", payload[i : i + 6]) for i in range(0, len(payload), 6)
                ]
            elif kind == 8 and visit.h2_window_update is None:
                visit.h2_window_update = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            elif kind == 1:
                visit.h2_pseudo_headers = _pseudo_headers(payload, flags)


def _frames(data: bytes) -> list[tuple[int, int, bytes]]:
    frames, pos = [], 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos : pos + 3], "big")
        kind, flags = data[pos + 3], data[pos + 4]
        if pos + 9 + length > len(data):
            break
        frames.append((kind, flags, data[pos + 9 : pos + 9 + length]))
        pos += 9 + length
    return frames


def _hpack_int(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    value = data[pos] & ((1 << bits) - 1)
    pos += 1
    if value < (1 << bits) - 1:
        return value, pos
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _pseudo_headers(payload: bytes, flags: int) -> list[str]:
    """The pseudo-headers of a HEADERS frame in their order (their names come from HPACK's static
    table: no Huffman decoding needed), up to the first regular header."""
    pos = 0
    if flags & 0x8:  # PADDED
        pos += 1
    if flags & 0x20:  # PRIORITY
        pos += 5
    names: list[str] = []
    while pos < len(payload):
        byte = payload[pos]
        if byte & 0x80:  # indexed field
            index, pos = _hpack_int(payload, pos, 7)
        elif byte & 0xE0 == 0x20:  # dynamic table size update
            _, pos = _hpack_int(payload, pos, 5)
            continue
        else:  # literal: 6 bits of index with incremental indexing, 4 bits otherwise
            index, pos = _hpack_int(payload, pos, 6 if byte & 0x40 else 4)
            if index == 0:
                return names  # a new name: not a pseudo-header of the static table
            length, pos = _hpack_int(payload, pos, 7)
            pos += length
        if index not in _PSEUDO:
            return names
        names.append(_PSEUDO[index])
    return names
