"""What a route of the API checks before it reads its request's body: ``GatedRoute``, the route
class of every router of the service (FastAPI's own seam for it: a route class whose handler
wraps the one FastAPI builds, which reads and parses the body before any dependency runs).

1. **The caller first.** A route that needs a role (``require_role``: every change, the admin
   routes) checks the credentials before anything else, so a request without them is refused
   (401; 403 with too low a role or, for a session, without its CSRF token) with its body
   unread, however large it says it is.
2. **Then the size.** A body is at most ``SERVICE_BODY_MAX`` bytes, or what
   ``SERVICE_BODY_MAX_ROUTES`` gives the route (``"PUT /api/rules/{name}"``): a Content-Length
   beyond it is a 413 at once; a body that grows beyond it as it arrives (chunked) is a 413 as
   soon as it passes the bound. Either way it is never held whole, never parsed.

The edge (:mod:`crawler.service.edge`) closes the connection after an answer given before the
request's body was read, so a refused upload ends there.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from crawler.service.access import require_role
from crawler.service.signin.roles import RANK

BODY_SETTING = "SERVICE_BODY_MAX_ROUTES"


def route_role(dependant: Any) -> str | None:
    """The highest role the dependencies of a route require (``require_role``), or None."""
    roles = []
    stack = list(dependant.dependencies)
    while stack:
        sub = stack.pop()
        role = getattr(sub.call, "required_role", None)
        if role is not None:
            roles.append(role)
        stack.extend(sub.dependencies)
    return max(roles, key=RANK.__getitem__) if roles else None


def route_keys(routes: Iterable[Any]) -> set[str]:
    """``"METHOD /path/{template}"`` of every API route (what ``SERVICE_BODY_MAX_ROUTES`` names)."""
    return {f"{m} {r.path_format}" for r in routes if isinstance(r, APIRoute) for m in r.methods}


def check_route_limits(limits: dict[str, int], routes: Iterable[Any]) -> None:
    """ValueError naming an entry of ``SERVICE_BODY_MAX_ROUTES`` that is no route."""
    known = route_keys(routes)
    for key, limit in limits.items():
        if key not in known:
            raise ValueError(
                f"{BODY_SETTING} names {key[:100]!r}, which is no route of the API "
                "(write it as the API declares it, e.g. 'PUT /api/rules/{name}')"
            )
        if limit < 0:
            raise ValueError(f"{BODY_SETTING}[{key!r}] must be 0 or more bytes")


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the request body is over {limit:,} bytes, the most this route takes "
        f"(SERVICE_BODY_MAX, {BODY_SETTING})",
    )


def announced_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    try:
        return int(text) if text is not None else None
    except ValueError:  # the server refuses a malformed one before the app sees it
        return None


def limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :func:`too_large` once the body passes ``limit`` bytes."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
        return message

    return receive_limited


class GatedRoute(APIRoute):
    """An API route whose caller and body size are checked before its body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = route_role(self.dependant)
        path = self.path_format

        async def gated(request: Request) -> Response:
            if role is not None:
                await run_in_threadpool(require_role(role), request)
            config = request.app.state.config
            limit = config.body_max_routes.get(f"{request.method} {path}", config.body_max)
            length = announced_length(request)
            if length is not None and length > limit:
                raise too_large(limit)
            return await handler(Request(request.scope, limited(request.receive, limit)))

        return gated
