"""Free-proxy source pages for the tests, served by the bundled sample site: a plain-text list,
a JSON list, an HTML table, and a paid provider's API that wants a key. ``source_pages`` is an
aiohttp middleware plugged in with the sample site's ``middlewares=`` hook."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxies.model import Proxy
from tests.sample_site import SampleSite

VENDOR_KEY = "vendor-key-123"


def source_pages(free: list[Proxy], paid: list[Proxy], prefix: str = "/proxy-sources") -> Any:
    """An aiohttp middleware serving the pages under ``prefix`` (for ``create_app(middlewares=)``)."""

    async def text(request: web.Request) -> web.Response:
        lines = (
            ["# free proxies, updated hourly"]
            + [p.address for p in free]
            + ["not a proxy line", ""]
        )
        return web.Response(text="\n".join(lines))

    async def as_json(request: web.Request) -> web.Response:
        items = [
            {"ip": p.host, "port": str(p.port), "protocol": "HTTP, HTTPS", "country": "ZZ"}
            for p in free
        ]
        return web.json_response({"count": len(items), "data": items})

    async def table(request: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{p.host}</td><td>{p.port}</td><td>HTTP</td><td>elite</td></tr>" for p in free
        )
        return web.Response(
            text=f"<table><tr><th>IP</th><th>Port</th></tr>{rows}</table>", content_type="text/html"
        )

    async def vendor(request: web.Request) -> web.Response:
        if request.query.get("key") != VENDOR_KEY:
            return web.json_response({"error": "bad key"}, status=403)
        return web.json_response({"proxies": [p.url for p in paid]})

    async def empty(request: web.Request) -> web.Response:
        return web.Response(text="")

    pages = {
        f"{prefix}/free.txt": text,
        f"{prefix}/free.json": as_json,
        f"{prefix}/free.html": table,
        f"{prefix}/vendor": vendor,
        f"{prefix}/empty.txt": empty,
    }

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        page = pages.get(request.path)
        return await (page(request) if page is not None else handler(request))

    return middleware


class SourceSite:
    """The bundled sample site (tests/sample_site) with the source pages plugged in."""

    def __init__(self, free: list[Proxy], paid: list[Proxy]) -> None:
        self.site = SampleSite(books=5, middlewares=[source_pages(free, paid)])

    def __enter__(self) -> str:
        return self.site.start() + "/proxy-sources"

    def __exit__(self, *exc: object) -> None:
        self.site.stop()
