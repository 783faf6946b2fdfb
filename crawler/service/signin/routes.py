"""The sign-in endpoints of the data service (``/api/auth/``):

- ``GET /api/auth/session``: whether sign-in is configured, its providers (name, label, kind),
  and who is signed in (or uses an API token), with their role;
- ``GET /api/auth/{provider}/login?next=/#/...``: to the provider's authorization page. This
  is the one request that creates a session (the flow's state) for someone not signed in, so it
  is limited per client address (``SIGNIN_START_RATE`` per ``SIGNIN_START_WINDOW``; 429);
- ``GET /api/auth/{provider}/embed?next=``: the same start for WeChat's QR code shown in the
  sign-in page itself (``embedded``): WeChat's ``WxLogin`` parameters, as JSON;
- ``GET /api/auth/{provider}/callback``: where the provider sends the browser back. Success:
  a new session and back to ``next``. Failure: a browser goes to the sign-in page
  (``/#/signin?error=<reason>&...``) which words it in the person's language; any other client
  gets an RFC 6749 answer, ``{"error", "error_description", "reason", ...}``;
- ``POST /api/auth/signout``: ends the session (needs the CSRF token, as every change does).
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from crawler.service.access import check_csrf, principal
from crawler.service.gate import GatedRoute
from crawler.service.signin.errors import SigninError
from crawler.service.signin.preset_signin import PresetSignin
from crawler.service.signin.session_cookies import HANDLE
from crawler.service.signin.signin import SignIn
from crawler.service.signin.wechat_signin import WeChatSignin

SESSION_FLOWS = (WeChatSignin, PresetSignin)  # their state in the session, no Authlib

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["sign-in"], route_class=GatedRoute)
NEXT_KEY = "signin_next"
NEXT = re.compile(r"/(?![/\\])[\x21-\x7e]*")  # printable ASCII, no space, not // or /\\


def _signin(request: Request) -> SignIn:
    signin = request.app.state.signin
    if signin is None:
        raise HTTPException(404, "sign-in is not configured (SIGNIN_PROVIDERS)")
    return signin


def safe_next(value: str | None) -> str:
    r"""A place in this service to go back to: a path, never another site (``//host``, ``/\host``,
    or ``/<tab>/host``, which browsers read as ``//host``).

    >>> safe_next("/#/rules/x"), safe_next("//evil.test/"), safe_next("https://evil.test")
    ('/#/rules/x', '/', '/')
    >>> safe_next("/\t/evil.test"), safe_next("/\\evil.test")
    ('/', '/')
    """
    if not value or len(value) > 500 or not NEXT.fullmatch(value):
        return "/"
    return value


def _failure(request: Request, error: SigninError) -> Any:
    code = error.values.get("errcode")
    logger.info("sign-in refused: %s%s", error.reason, f" (error {code})" if code else "")
    if "text/html" in request.headers.get("accept", ""):
        answer = {k: v for k, v in error.answer().items() if k != "error_description"}
        query = urlencode(answer)
        return RedirectResponse(f"/#/signin?{query}", status_code=303)
    return JSONResponse(error.answer(), status_code=error.status)


@router.get("/session")
def session(request: Request) -> dict[str, Any]:
    """Sign-in providers and who this request is (``null`` when nobody)."""
    signin = request.app.state.signin
    providers = [p.public() for p in signin.config.providers.values()] if signin else []
    who = principal(request, csrf=False)
    return {"signin": bool(signin), "providers": providers, "person": who}


def start_allowed(request: Request) -> None:
    """429 when the client's address started too many sign-ins lately (a dependency of the login
    route: it runs before the flow puts anything in a session)."""
    signin = _signin(request)
    address = request.client.host if request.client else "unknown"
    wait = signin.start_limit.wait(address)
    if wait:
        seconds = math.ceil(wait)
        raise HTTPException(
            429,
            f"too many sign-ins started from {address[:60]}: try again in {seconds} s "
            "(SIGNIN_START_RATE per SIGNIN_START_WINDOW seconds)",
            headers={"Retry-After": str(seconds)},
        )


@router.get("/{provider}/login", dependencies=[Depends(start_allowed)])
async def login(request: Request, provider: str, next: str = "/") -> Any:
    signin = _signin(request)
    flow = signin.flows.get(provider)
    if flow is None:
        return _failure(request, SigninError.of("unknown_provider", provider=provider[:40]))
    request.session[NEXT_KEY] = safe_next(next)
    redirect_uri = signin.redirect_uri(request, provider)
    try:
        if isinstance(flow, SESSION_FLOWS):
            url = flow.start(request.session, redirect_uri)
        else:
            url = await flow.start(request, redirect_uri)
    except SigninError as exc:
        return _failure(request, exc)
    return RedirectResponse(url, status_code=302)


@router.get("/{provider}/embed", dependencies=[Depends(start_allowed)])
def embed(request: Request, provider: str, next: str = "/") -> dict[str, str]:
    """WeChat's ``WxLogin`` parameters for the QR code the sign-in page shows itself (a provider
    with ``embedded: true``); the sign-in starts here as at ``/login``."""
    signin = _signin(request)
    flow = signin.flows.get(provider)
    if not isinstance(flow, WeChatSignin) or not flow.provider.embedded:
        raise HTTPException(404, f"{provider[:40]} is no embedded WeChat QR-code login")
    request.session[NEXT_KEY] = safe_next(next)
    return flow.embed(request.session, signin.redirect_uri(request, provider))


@router.get("/{provider}/callback")
async def callback(request: Request, provider: str) -> Any:
    signin = _signin(request)
    flow = signin.flows.get(provider)
    if flow is None:
        return _failure(request, SigninError.of("unknown_provider", provider=provider[:40]))
    target = safe_next(request.session.get(NEXT_KEY))
    try:
        if isinstance(flow, SESSION_FLOWS):
            params = dict(request.query_params)
            who, token = await run_in_threadpool(flow.finish, request.session, params)
        else:
            who, token = await flow.finish(request), None
        await run_in_threadpool(signin.complete, request, who, token)
    except SigninError as exc:
        return _failure(request, exc)
    return RedirectResponse(target, status_code=303)


@router.post("/signout")
def signout(request: Request) -> dict[str, bool]:
    signin = _signin(request)
    handle = request.scope[HANDLE]
    if handle.signed_in:
        check_csrf(request, signin)
        handle.sign_out()
    return {"signed_out": True}
