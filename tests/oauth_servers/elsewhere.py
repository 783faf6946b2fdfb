"""Another host, not the provider's: a loopback server on 127.0.0.2 (another address, so another
host name than the OAuth servers' 127.0.0.1) that records every request it receives (method,
path with query, headers) and answers ``GET /api/items?page=N`` with items, no token needed.
What the tests read in :attr:`OtherHost.requests` is everything a token sent here would have
reached.

    python -m tests.oauth_servers.elsewhere [--host 127.0.0.2] [--port 0]
"""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from tests.oauth_servers.running import ServerThread, main
from tests.oauth_servers.standard import items_page

HOST = "127.0.0.2"
LOG = web.AppKey("log", list)


@web.middleware
async def record(request: web.Request, handler: Any) -> web.StreamResponse:
    request.app[LOG].append(
        {"method": request.method, "path_qs": request.path_qs, "headers": dict(request.headers)}
    )
    return await handler(request)


async def api_items(request: web.Request) -> web.Response:
    return web.json_response(items_page(request.query.get("page", "1"), request.path))


def create_app() -> web.Application:
    app = web.Application(middlewares=[record])
    app[LOG] = []
    app.router.add_get("/api/items", api_items)
    return app


class OtherHost(ServerThread):
    """``with OtherHost() as other: other.url, other.requests``."""

    def __init__(self, host: str = HOST, port: int = 0) -> None:
        super().__init__(create_app(), host=host, port=port)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self.app[LOG])

    def text(self) -> str:
        """Every request as text: where to look for a token."""
        return "\n".join(f"{r['method']} {r['path_qs']} {r['headers']}" for r in self.requests)


def _build(args: argparse.Namespace) -> web.Application:
    return create_app()


if __name__ == "__main__":
    main(_build, argparse.ArgumentParser(prog="python -m tests.oauth_servers.elsewhere"))
