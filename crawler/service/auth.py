"""Who may do what: reads are open while the service listens on loopback only; every change
(POST, PUT, DELETE) needs a bearer token. ``require_role(role)`` is the one seam: today it
accepts any valid API token; the sign-in issue adds sessions and checks roles there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from proxies.tokens import is_loopback


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def identify(request: Request) -> dict[str, Any] | None:
    token = _bearer(request)
    if token is None:
        return None
    return request.app.state.tokens.identify(token)


def require_role(role: str) -> Callable[[Request], dict[str, Any]]:
    """A FastAPI dependency: the caller, if a valid token says who it is; 401 otherwise.

    ``role`` (viewer, editor, admin) is recorded for the roles of the sign-in issue; today any
    valid token passes."""

    def dependency(request: Request) -> dict[str, Any]:
        who = identify(request)
        if who is None:
            detail = (
                "missing API token: send Authorization: Bearer <token> (scrapy tokens create)"
                if _bearer(request) is None
                else "invalid API token"
            )
            raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
        request.state.principal = who
        request.state.required_role = role
        return who

    dependency.__name__ = f"require_{role}"
    return dependency


def read_access(request: Request) -> None:
    """Reads: open when the service is bound to loopback; a valid token otherwise."""
    if is_loopback(request.app.state.config.host):
        return
    require_role("viewer")(request)


#: A parameter type for endpoints that change something: ``who: Editor``.
Editor = Annotated[dict[str, Any], Depends(require_role("editor"))]
