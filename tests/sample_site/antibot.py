"""The sample site's anti-bot mode: an aiohttp middleware that bans and challenges clients.

Deterministic, so tests can count on it:

- a client address that makes more than ``ip_limit`` requests within ``window`` seconds is
  answered 403 ("Access denied") for ``ban_seconds``; so is a User-Agent that makes more than
  ``ua_limit`` requests (each limit 0 = off);
- every ``captcha_every``-th request (site-wide count) gets a captcha page with status 200;
- every ``too_many_every``-th request gets 429 with ``Retry-After: retry_after``;
- with ``image_captcha_after = N``, a client address gets an image-captcha gate (status 200, a
  form with ``<img id="captcha">``, see :mod:`.captchas`) once it has had N pages, and on every
  request until it posts the right answer to ``/captcha/solve``, which unlocks N more pages and
  redirects (303) to the page it asked for. A wrong answer gets a new captcha. The gate stands
  in front of pages: ``/api/`` answers (what a page's script fetches) go by uncounted.

Requests answered by the bans do not count towards the windows, so a ban ends on time.
``antibot.state`` keeps what happened (per-address and per-agent counts, bans, challenges).

    bot = antibot_middleware(ip_limit=5, window=2.0, captcha_every=7)
    with SampleSite(books=30, middlewares=[bot]) as site: ...
    bot.state.banned_ips
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CAPTCHA_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment</title></head><body>"
    '<h1>Security check</h1><div class="g-recaptcha" data-sitekey="sample"></div>'
    "<p>Please verify you are a human to continue.</p></body></html>"
)
BANNED_PAGE = "<!DOCTYPE html><html><body><h1>Access denied</h1><p>{why}</p></body></html>"


@dataclass
class AntiBotState:
    requests: int = 0
    by_ip: Counter = field(default_factory=Counter)
    by_ua: Counter = field(default_factory=Counter)
    served: Counter = field(default_factory=Counter)  # path -> 200 content responses
    banned_ips: Counter = field(default_factory=Counter)  # address -> times it got banned
    banned_uas: Counter = field(default_factory=Counter)
    rejected: int = 0
    captchas: int = 0
    too_many: int = 0
    gates: int = 0  # image-captcha pages served
    captcha_solved: int = 0
    captcha_failed: int = 0
    captcha_texts: dict = field(default_factory=dict)  # token -> the right answer


class _Limiter:
    """Sliding-window counts per key, with a ban once a key goes over the limit."""

    def __init__(self, limit: int, window: float, ban_seconds: float) -> None:
        self.limit, self.window, self.ban_seconds = limit, window, ban_seconds
        self.hits: dict[str, deque[float]] = {}
        self.banned_until: dict[str, float] = {}

    def banned(self, key: str, now: float) -> bool:
        return self.banned_until.get(key, 0.0) > now

    def hit(self, key: str, now: float) -> bool:
        """Count a request; True if it takes ``key`` over the limit (it is banned from now)."""
        if not self.limit:
            return False
        q = self.hits.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        q.append(now)
        if len(q) > self.limit:
            self.banned_until[key] = now + self.ban_seconds
            q.clear()
            return True
        return False


def antibot_middleware(
    *,
    ip_limit: int = 20,
    ua_limit: int = 0,
    window: float = 10.0,
    ban_seconds: float | None = None,
    captcha_every: int = 0,
    too_many_every: int = 0,
    retry_after: int = 1,
    exempt: tuple[str, ...] = ("/robots.txt",),
    clock: Callable[[], float] = time.monotonic,
    image_captcha_after: int = 0,
) -> Callable[..., Any]:
    """An aiohttp ``@web.middleware`` for ``create_app(middlewares=...)``; see the module doc."""
    ban_for = window if ban_seconds is None else ban_seconds
    ips = _Limiter(ip_limit, window, ban_for)
    uas = _Limiter(ua_limit, window, ban_for)
    state = AntiBotState()
    lock = threading.Lock()

    def _decide(request: web.Request) -> web.Response | None:
        now = clock()
        ip = request.remote or "?"
        ua = request.headers.get("User-Agent", "")
        state.requests += 1
        state.by_ip[ip] += 1
        state.by_ua[ua] += 1
        if ips.banned(ip, now) or uas.banned(ua, now):
            state.rejected += 1
            return _banned("too many requests")
        if ips.hit(ip, now):
            state.banned_ips[ip] += 1
            state.rejected += 1
            return _banned(f"too many requests from {ip}")
        if uas.hit(ua, now):
            state.banned_uas[ua] += 1
            state.rejected += 1
            return _banned("too many requests from your browser")
        n = state.requests
        if too_many_every and n % too_many_every == 0:
            state.too_many += 1
            return web.Response(
                status=429,
                text="Too many requests, slow down",
                headers={"Retry-After": str(retry_after)},
            )
        if captcha_every and n % captcha_every == 0:
            state.captchas += 1
            return web.Response(text=CAPTCHA_PAGE, content_type="text/html")
        return None

    gate = _ImageCaptchaGate(image_captcha_after, state) if image_captcha_after else None

    @web.middleware
    async def antibot(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.path in exempt:
            return await handler(request)
        if gate is not None and request.path.startswith("/captcha/"):
            return await gate.handle(request)
        with lock:
            answer = _decide(request)
            if answer is None and gate is not None:
                answer = gate.check(request)
        if answer is not None:
            return answer
        response = await handler(request)
        if response.status == 200:
            with lock:
                state.served[request.path] += 1
        return response

    antibot.state = state  # type: ignore[attr-defined]
    return antibot


def _banned(why: str) -> web.Response:
    return web.Response(status=403, text=BANNED_PAGE.format(why=why), content_type="text/html")


GATE_PAGE = (
    "<!DOCTYPE html><html><head><title>Security check</title></head><body>"
    '<h1>Security check</h1><form method="post" action="/captcha/solve">'
    '<img id="captcha" src="/captcha/image/{token}.png" alt="captcha">'
    '<input type="text" name="answer" autocomplete="off">'
    '<input type="hidden" name="token" value="{token}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button type="submit">Continue</button></form></body></html>'
)


class _ImageCaptchaGate:
    """Pages left per client address; the gate when none are left; the solve endpoint."""

    def __init__(self, after: int, state: AntiBotState) -> None:
        self.after = after
        self.state = state
        self.left: dict[str, int] = {}
        self.tokens = 0

    def check(self, request: web.Request) -> web.Response | None:
        if request.path.startswith(("/api/", "/js/banner")):
            return None  # in front of the pages only: what a page's script fetches goes by
        ip = request.remote or "?"
        left = self.left.get(ip, self.after)
        if left > 0:
            self.left[ip] = left - 1
            return None
        return self.page(request.path_qs)

    def page(self, next_path: str) -> web.Response:
        from html import escape

        from .captchas import captcha_text

        self.tokens += 1
        token = f"{self.tokens:06d}"
        self.state.captcha_texts[token] = captcha_text(token)
        self.state.gates += 1
        body = GATE_PAGE.format(token=token, next=escape(next_path, quote=True))
        return web.Response(text=body, content_type="text/html")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        from .captchas import captcha_png

        if request.method == "GET" and request.path.startswith("/captcha/image/"):
            token = request.path.removeprefix("/captcha/image/").removesuffix(".png")
            if token not in self.state.captcha_texts:
                raise web.HTTPNotFound()
            return web.Response(body=captcha_png(token), content_type="image/png")
        if request.method != "POST" or request.path != "/captcha/solve":
            raise web.HTTPNotFound()
        form = await request.post()
        token, answer = str(form.get("token", "")), str(form.get("answer", ""))
        next_path = str(form.get("next", "/"))
        if not next_path.startswith("/") or next_path.startswith("//"):
            next_path = "/"
        expected = self.state.captcha_texts.pop(token, None)
        if expected is None or answer.strip().upper() != expected:
            self.state.captcha_failed += 1
            return self.page(next_path)
        self.state.captcha_solved += 1
        self.left[request.remote or "?"] = self.after
        raise web.HTTPSeeOther(next_path)
