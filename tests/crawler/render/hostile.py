"""Small HTTP servers on 127.0.0.1 for the attacks on rendering and preview: a site whose pages
try to reach another loopback service, and that service, which logs every request it gets.

Pages are ``path -> (status, headers, body)``; ``{site}`` and ``{other}`` in bodies and headers
are the two servers' origins (``http://127.0.0.1:PORT``), filled in when the server starts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Page = tuple[int, Mapping[str, str], str]


def html(body: str, head: str = "") -> Page:
    return (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        (f"<!doctype html><html><head><title>page</title>{head}</head><body>{body}</body></html>"),
    )


def redirect(to: str) -> Page:
    return 302, {"Location": to}, ""


@dataclass
class Server:
    pages: dict[str, Page]
    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None
    fill: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    def paths(self) -> list[str]:
        with self.lock:
            return list(self.seen)

    def filled(self, text: str) -> str:
        for key, value in self.fill.items():  # not str.format: pages hold script braces
            text = text.replace("{" + key + "}", value)
        return text

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with server.lock:
                    server.seen.append(self.path)
                status, headers, body = server.pages.get(
                    self.path.split("?")[0], (404, {"Content-Type": "text/plain"}, "not here")
                )
                data = server.filled(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, server.filled(value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


@contextmanager
def servers(site: dict[str, Page], other: dict[str, Page]) -> Iterator[tuple[Server, Server]]:
    """The site and the other loopback service, running; both know both origins."""
    a, b = Server(site), Server(other)
    a.start()
    b.start()
    try:
        for s in (a, b):
            s.fill.update(site=a.url, other=b.url, site_port=str(a.port), other_port=str(b.port))
        yield a, b
    finally:
        a.stop()
        b.stop()
