"""Free-proxy source pages for the tests: a plain-text list, a JSON list, an HTML table, and a
paid provider's API that wants a key. ``add_routes(app, proxies)`` plugs them into any aiohttp
application (the sample site's, or ``SourceSite``'s own)."""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import web

from proxies.model import Proxy

VENDOR_KEY = "vendor-key-123"


def add_routes(
    app: web.Application, free: list[Proxy], paid: list[Proxy], prefix: str = "/proxy-sources"
) -> None:
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

    app.router.add_get(f"{prefix}/free.txt", text)
    app.router.add_get(f"{prefix}/free.json", as_json)
    app.router.add_get(f"{prefix}/free.html", table)
    app.router.add_get(f"{prefix}/vendor", vendor)
    app.router.add_get(f"{prefix}/empty.txt", empty)


class SourceSite:
    """The pages on an aiohttp server of our own, on loopback, in a background thread."""

    def __init__(self, free: list[Proxy], paid: list[Proxy]) -> None:
        self.app = web.Application()
        add_routes(self.app, free, paid)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()

        async def start() -> int:
            self.runner = web.AppRunner(self.app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return self.runner.addresses[0][1]

        port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return f"http://127.0.0.1:{port}/proxy-sources"

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def sources_config(base: str) -> str:
    return json.dumps(
        [
            {"name": "free-text", "type": "text", "url": f"{base}/free.txt"},
            {"name": "free-json", "type": "json", "url": f"{base}/free.json"},
            {
                "name": "vendor",
                "type": "api",
                "url": f"{base}/vendor?key=${{VENDOR_KEY}}",
                "refresh": 600,
            },
        ]
    )
