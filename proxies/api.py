"""The pool's HTTP API (``python -m proxies serve``), loopback by default.

It speaks the paths of jhao104/proxy_pool, so that its clients work with the token added:

``GET /get/``     one proxy: ``{"proxy": "host:port", "https": bool, "anonymous": ..., ...}``,
                  or ``{"code": 0, "src": "no proxy"}``
``GET /all/``     every usable proxy, best first (also ``/get_all/``)
``GET /count/``   ``{"http_type": {"http": n, "https": m}, "source": {...}, "count": n}``
                  (also ``/get_status/``)
``POST /pop/``    the same as ``/get/``, and the proxy leaves the pool (token)
``POST /delete/?proxy=host:port``   ``{"code": 0, "src": true|false}`` (token)

Query parameters: ``type=https`` (proxies that passed the CONNECT check), and ours:
``domain=`` (rank by that domain's score, proven proxies for a target domain), ``anonymity=``
(minimum level: ``anonymous``, ``elite``), ``paid=`` (``1``/``0``). Paths work with and without
the trailing slash. Beyond jhao104: ``POST /report`` (JSON ``{"key"|"proxy", "outcome",
"domain", "latency"}``, or the same as query parameters; token) records an outcome and answers
the seconds the proxy is now benched for, and ``GET /stats`` returns the pool's summary.

Security model: every state change needs the API token (``Authorization: Bearer <token>``,
compared in constant time) and is never a plain GET, except jhao104's ``GET /delete`` and
``GET /pop``, kept for its clients, which take the token as ``?token=`` too. Reads are open on
loopback; bound elsewhere (allowed only with a configured token) every path needs the token.
Credentials never leave the server: ``proxy`` is ``host:port``, ``label`` is masked and ``key``
carries only a keyed digest of them. At its edge the application also checks the Host
against DNS rebinding (400), backs off clients sending wrong tokens (429,
:mod:`proxies.api_token`), puts :data:`SECURITY_HEADERS` on every answer and counts what it
refuses by kind (:class:`Refusals`: a few one-line log lines, however many). Bodies are bounded
here (``PROXY_POOL_API_MAX_BODY``: 413); the request line and headers by the server
(:func:`proxies.service.start_api`: 431), which answers what aiohttp cannot parse in one line.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import math
from typing import Any

from aiohttp import web

from proxies.api_token import TokenBackoff, client_key, token_matches
from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool import StoredProxyPool
from proxies.pool_store import summary
from proxies.scoring import ProxyRecord
from proxies.settings import PoolSettings

logger = logging.getLogger(__name__)


class Refusals:
    """What the API refused or failed at, counted by kind. The 1st, 10th, 100th, ... of each
    kind is logged, one line (a flood of them costs a few lines, never a traceback each)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, kind: str, detail: str, level: int = logging.WARNING) -> None:
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        if str(n).rstrip("0") == "1":  # 1, 10, 100, ...
            logger.log(level, "proxy API: %s (%s); %d so far", kind, _one_line(detail), n)


POOL_KEY: web.AppKey[StoredProxyPool] = web.AppKey("pool", StoredProxyPool)
REFUSALS_KEY: web.AppKey[Refusals] = web.AppKey("refusals", Refusals)
BACKOFF_KEY: web.AppKey[TokenBackoff] = web.AppKey("backoff", TokenBackoff)
# On every answer: the API serves JSON and text, to programs; nothing may frame, sniff or keep it.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}

API_LIST = {
    "get": "get a usable proxy (?type=https&domain=&anonymity=&paid=)",
    "pop": "POST (token): get and delete a usable proxy",
    "all": "get all usable proxies, best first",
    "count": "proxy counts by type and source",
    "delete?proxy=127.0.0.1:8080": "POST (token): delete a proxy",
    "report": "POST (token) {key|proxy, outcome: success|failure|ban, domain, latency}",
    "stats": "pool summary",
}
# jhao104/proxy_pool's clients change state with these GETs: kept, token required
COMPAT_GET_CHANGES = ("/pop", "/delete")


def jhao_dict(rec: ProxyRecord) -> dict[str, Any]:
    """A record as jhao104/proxy_pool's ``Proxy.to_dict``, plus our fields; no credentials."""
    last = ""
    if rec.checked_at:
        last = datetime.datetime.fromtimestamp(rec.checked_at).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "proxy": rec.proxy.address,
        "https": bool(rec.https),
        "fail_count": rec.fail_streak,
        "region": "",
        "anonymous": rec.anonymity.label if rec.anonymity else "",
        "source": rec.proxy.source,
        "check_count": rec.checks,
        "last_status": bool(rec.alive),
        "last_time": last,
        # ours
        "scheme": rec.proxy.scheme,
        "key": rec.proxy.key,
        "label": rec.proxy.label,
        "paid": rec.proxy.paid,
        "score": round(rec.score, 2),
        "latency": None if rec.latency is None else round(rec.latency, 4),
    }


def _query_filters(request: web.Request) -> tuple[str | None, dict[str, Any]]:
    q = request.query
    filters: dict[str, Any] = {}
    if q.get("type", "").lower() == "https":
        filters["https"] = True
    if q.get("anonymity"):
        try:
            filters["anonymity"] = Anonymity.parse(q["anonymity"])
        except ValueError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"code": 1, "src": str(exc)}), content_type="application/json"
            ) from None
    if q.get("paid", "") != "":
        filters["paid"] = q["paid"].lower() in ("1", "true", "yes")
    return q.get("domain") or None, filters


def _find(pool: StoredProxyPool, ident: str) -> list[ProxyRecord]:
    """Records named by a key (``scheme://host:port[#digest]``) or by ``host:port``."""
    rec = pool.store.get(ident)
    if rec is not None:
        return [rec]
    try:
        wanted = Proxy.parse(ident)
    except ValueError:
        return []
    rec = pool.store.get(wanted.key)
    if rec is not None:
        return [rec]
    return [r for r in pool.store.all() if r.proxy.address == wanted.address]


def _presented_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if request.method == "GET" and request.path.rstrip("/") in COMPAT_GET_CHANGES:
        return request.query.get("token")
    return None


def _host_port(text: str) -> tuple[str, int | None]:
    """(host, port) of a Host header or an allowed-host entry: lower-case, without brackets or
    final dot, port None when absent; ("", None) when it is not a host."""
    text = text.strip().lower()
    if text.startswith("["):
        name, bracket, rest = text[1:].partition("]")
        if not bracket:
            return "", None
    else:
        name, colon, rest = text.partition(":")
        rest = colon + rest
    if rest and not (rest[:1] == ":" and rest[1:].isdigit() and len(rest) <= 6):
        return "", None
    return name.rstrip("."), int(rest[1:]) if rest else None


def _host_allowed(request: web.Request, allowed: frozenset[tuple[str, int | None]]) -> bool:
    """A configured name (any port, or the one configured with it), or, with no port or the
    one the request arrived at: the IP address it arrived at, ``localhost`` when that address is
    a loopback one. A name pointed at us by someone else's DNS is none of these."""
    name, port = _host_port(request.headers.get("Host", ""))
    if not name or (name, None) in allowed or (name, port) in allowed:
        return bool(name)
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    try:
        local = ipaddress.ip_address(str(sock[0]).split("%", 1)[0])
    except (TypeError, IndexError, ValueError):
        return False
    local = getattr(local, "ipv4_mapped", None) or local
    if port is not None and port != sock[1]:
        return False
    if name == "localhost":
        return local.is_loopback
    try:
        return ipaddress.ip_address(name) == local
    except ValueError:
        return False


def _refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"code": 1, "src": message}, status=status, headers=headers)


def _edge_middleware(
    token: str | None,
    open_reads: bool,
    names: frozenset[tuple[str, int | None]],
    backoff: TokenBackoff,
    refusals: Refusals,
) -> Any:
    @web.middleware
    async def edge(request: web.Request, handler: Any) -> web.StreamResponse:
        if not _host_allowed(request, names):
            host = request.headers.get("Host", "")[:100]
            refusals.add("unknown Host (400)", f"Host {host!r} from {request.remote}")
            return _refuse(400, "unknown Host: this API answers for its own address only")
        changes = request.method != "GET" or request.path.rstrip("/") in COMPAT_GET_CHANGES
        if changes or not open_reads:
            if token is None:
                return _refuse(403, "this service has no API token: state changes are off")
            client = client_key(request.remote)
            wait = backoff.wait(client)
            if wait > 0:
                refusals.add("token tries while backing off (429)", f"from {client}")
                return _refuse(
                    429,
                    f"too many wrong tokens: try again in {math.ceil(wait)} s",
                    **{"Retry-After": str(math.ceil(wait))},
                )
            presented = _presented_token(request)
            if not token_matches(presented, token):
                if presented:  # a guess: counted, and paid for after the first few
                    wait = backoff.failed(client)
                    refusals.add("wrong token (401)", f"from {client}, who now waits {wait:g} s")
                return _refuse(
                    401,
                    "a valid token is required (Authorization: Bearer ...)",
                    **{"WWW-Authenticate": "Bearer"},
                )
        return await handler(request)

    return edge


async def _secure(request: web.BaseRequest, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def build_app(
    pool: StoredProxyPool,
    token: str | None = None,
    *,
    open_reads: bool = True,
    settings: Any = None,
) -> web.Application:
    """The API over ``pool``. ``token``: what state changes (and, without ``open_reads``,
    every request) must present; None refuses every state change. ``settings``: the
    ``PROXY_POOL_API_*`` ones (body size, Host names, back-off)."""
    s = PoolSettings.wrap(settings)
    entries = (_host_port(str(n)) for n in s.getlist("PROXY_POOL_API_ALLOWED_HOSTS"))
    names = frozenset(entry for entry in entries if entry[0])
    backoff, refusals = TokenBackoff.from_settings(s), Refusals()
    app = web.Application(
        middlewares=[_edge_middleware(token, open_reads, names, backoff, refusals)],
        client_max_size=s.getint("PROXY_POOL_API_MAX_BODY"),
    )
    app[POOL_KEY], app[BACKOFF_KEY], app[REFUSALS_KEY] = pool, backoff, refusals
    app.on_response_prepare.append(_secure)

    async def index(request: web.Request) -> web.Response:
        return web.json_response(API_LIST)

    async def get(request: web.Request) -> web.Response:
        domain, filters = _query_filters(request)
        ordered = pool.records(domain, **filters)
        rec = pool.policy.pick(ordered, domain, pool.rng)
        return web.json_response(jhao_dict(rec) if rec else {"code": 0, "src": "no proxy"})

    async def pop(request: web.Request) -> web.Response:
        domain, filters = _query_filters(request)
        rec = pool.policy.pick(pool.records(domain, **filters), domain, pool.rng)
        if rec is None:
            return web.json_response({"code": 0, "src": "no proxy"})
        pool.store.remove([rec.key])
        return web.json_response(jhao_dict(rec))

    async def all_(request: web.Request) -> web.Response:
        domain, filters = _query_filters(request)
        return web.json_response([jhao_dict(r) for r in pool.records(domain, **filters)])

    async def count(request: web.Request) -> web.Response:
        domain, filters = _query_filters(request)
        records = pool.records(domain, **filters)
        http_type: dict[str, int] = {}
        sources: dict[str, int] = {}
        for r in records:
            kind = "https" if r.https else "http"
            http_type[kind] = http_type.get(kind, 0) + 1
            for s in (r.proxy.source or "").split("/"):
                sources[s] = sources.get(s, 0) + 1
        return web.json_response({"http_type": http_type, "source": sources, "count": len(records)})

    async def delete(request: web.Request) -> web.Response:
        ident = (request.query.get("proxy") or request.query.get("key") or "")[:512]
        found = _find(pool, ident) if ident else []
        removed = pool.store.remove([r.key for r in found]) if found else 0
        return web.json_response({"code": 0, "src": removed > 0})

    async def refresh(request: web.Request) -> web.Response:
        return web.Response(text="success")

    async def report(request: web.Request) -> web.Response:
        data: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return _error("the body must be a JSON object")
            data.update(body)
        ident = data.get("key") or data.get("proxy")
        if not ident:
            return _error("name the proxy with key= or proxy=")
        try:
            outcome = Outcome(str(data.get("outcome", "")).lower())
        except ValueError:
            return _error("outcome must be one of success, failure, ban")
        latency = data.get("latency")
        try:
            latency = float(latency) if latency not in (None, "") else None
        except (TypeError, ValueError):
            return _error("latency must be a number of seconds")
        found = _find(pool, str(ident)[:512])
        if not found:
            return web.json_response({"code": 0, "src": False}, status=404)
        domain = str(data.get("domain") or "")[:253] or None
        benched = 0.0
        for rec in found:
            benched = max(benched, pool.report(rec.proxy, outcome, domain=domain, latency=latency))
        return web.json_response({"code": 0, "src": True, "benched": round(benched, 3)})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(summary(pool.store.all()))

    routes = [
        ("GET", "", index),
        ("GET", "get", get),
        ("GET", "pop", pop),
        ("POST", "pop", pop),
        ("GET", "all", all_),
        ("GET", "get_all", all_),
        ("GET", "count", count),
        ("GET", "get_status", count),
        ("GET", "delete", delete),
        ("POST", "delete", delete),
        ("GET", "refresh", refresh),
        ("POST", "report", report),
        ("GET", "stats", stats),
    ]
    for method, name, handler in routes:
        app.router.add_route(method, f"/{name}", handler)
        if name:
            app.router.add_route(method, f"/{name}/", handler)
    return app


def _error(message: str) -> web.Response:
    return web.json_response({"code": 1, "src": message}, status=400)


def _one_line(text: str, size: int = 200) -> str:
    """``text`` for a log line: one line, at most ``size`` characters, no control characters."""
    flat = " ".join(str(text).split())[:size]
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in flat)
