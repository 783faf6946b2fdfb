"""A site that answers a crawler with what should never be parsed: a gzip bomb (1 MiB on the
wire, 1 GiB inflated), a 50 MB page, a redirect to ``file:``, a page showing the Host header it was asked with, and one
ordinary page.

Run: ``python -m tests.security.hostile_site PORT`` (prints its URL when it listens).
"""

from __future__ import annotations

import gzip
import sys

from aiohttp import web

PAGE = b"<html><head><title>fine</title></head><body><h1>A fine page</h1></body></html>"


def app() -> web.Application:
    bomb = gzip.compress(b"\0" * (1024 * 1024 * 1024), compresslevel=9)
    big = b"<html><body><h1>big</h1>" + b"<p>" + b"x" * (50 * 1024 * 1024) + b"</p></body></html>"

    async def gzip_bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="text/html")

    async def ok(request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    async def host(request: web.Request) -> web.Response:
        title = f"host={request.headers.get('Host')}".encode()
        return web.Response(body=b"<title>" + title + b"</title>", content_type="text/html")

    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/hostname")

    application = web.Application()
    application.router.add_get("/bomb", gzip_bomb)
    application.router.add_get("/big", huge)
    application.router.add_get("/ok", ok)
    application.router.add_get("/to-file", to_file)
    application.router.add_get("/host", host)
    return application


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(f"http://127.0.0.1:{port}", flush=True)
    web.run_app(app(), host="127.0.0.1", port=port, print=None)
