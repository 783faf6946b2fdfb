"""Who may do what. ``require_role(role)`` is the one seam every API route goes through (a
FastAPI dependency): the caller is an API token (``Authorization: Bearer ...``, for machines) or
the session of a person signed in (crawler/service/signin), and needs at least ``role``:

- viewer: reads; editor: rules, runs, schedules, dead letters; admin: tokens, people, settings;
- a session's role comes from the roles file as it is now, a token's from its entry (a token
  from the environment is admin);
- a change (any method but GET, HEAD, OPTIONS) made through a session needs the session's CSRF
  token in the ``X-CSRF-Token`` header (the dashboard reads it from its cookie): another site
  can make a browser send the session cookie, never read the token;
- reads (``read_access``) are open while the service listens on loopback and nobody signs in;
  with sign-in configured, or on any other address, they need a viewer.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from crawler.service.signin.roles import allows
from proxies.api_token import is_loopback

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    who = request.app.state.tokens.identify(token)
    return {**who, "via": "token"} if who is not None else None


def check_csrf(request: Request, signin: Any) -> None:
    """403 unless the request carries the session's CSRF token in the CSRF header."""
    sent = request.headers.get(signin.config.csrf_header, "")
    expected = str(request.session.get("csrf", ""))
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(
            403,
            f"missing or wrong CSRF token: send the {signin.config.csrf_cookie_name} cookie's "
            f"value in the {signin.config.csrf_header} header (reload the page if it persists)",
        )


def principal(request: Request, csrf: bool = True) -> dict[str, Any] | None:
    """The caller: a valid API token's entry, else the signed-in person; None when neither."""
    if _bearer(request) is not None:
        return identify(request)
    signin = request.app.state.signin
    if signin is None:
        return None
    who = signin.person(request)
    if who is not None and csrf and request.method not in SAFE_METHODS:
        check_csrf(request, signin)
    return who


def _unauthenticated(request: Request) -> HTTPException:
    signin = request.app.state.signin
    if _bearer(request) is not None:
        detail = "invalid API token"
    elif signin is not None:
        ended = getattr(request.state, "signin_ended", None)
        detail = ended or (
            "not signed in: sign in on the dashboard, or send Authorization: Bearer <token> "
            "(scrapy auth tokens create)"
        )
    else:
        detail = "missing API token: send Authorization: Bearer <token> (scrapy auth tokens create)"
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def require_role(role: str) -> Callable[[Request], dict[str, Any]]:
    """A FastAPI dependency: the caller if it has at least ``role``; 401 when nobody is known,
    403 when the role is too low (or a session's change lacks its CSRF token)."""

    def dependency(request: Request) -> dict[str, Any]:
        who = principal(request)
        if who is None:
            raise _unauthenticated(request)
        if not allows(who.get("role"), role):
            raise HTTPException(
                403,
                f"this needs the {role} role; {who.get('name')} has "
                f"{who.get('role') or 'no role'} (scrapy auth people add ... --role {role})",
            )
        request.state.principal = who
        request.state.required_role = role
        return who

    dependency.__name__ = f"require_{role}"
    dependency.required_role = role  # type: ignore[attr-defined]  # for GatedRoute (gate.py)
    return dependency


def read_access(request: Request) -> None:
    """Reads: open on loopback while nobody signs in; a viewer otherwise."""
    if request.app.state.signin is None and is_loopback(request.app.state.config.host):
        return
    require_role("viewer")(request)


#: Parameter types for endpoints: ``who: Editor`` (changes), ``who: Admin`` (tokens, people).
Editor = Annotated[dict[str, Any], Depends(require_role("editor"))]
Admin = Annotated[dict[str, Any], Depends(require_role("admin"))]
