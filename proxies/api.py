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
Bodies are bounded (``PROXY_POOL_API_MAX_BODY``). Credentials never leave the server: ``proxy``
is ``host:port``, ``label`` is masked and ``key`` carries only a keyed digest of them.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from aiohttp import web

from proxies.api_token import token_matches
from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool import StoredProxyPool
from proxies.pool_store import summary
from proxies.scoring import ProxyRecord

logger = logging.getLogger(__name__)

POOL_KEY: web.AppKey[StoredProxyPool] = web.AppKey("pool", StoredProxyPool)

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


def _auth_middleware(token: str | None, open_reads: bool) -> Any:
    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        changes = request.method != "GET" or request.path.rstrip("/") in COMPAT_GET_CHANGES
        if changes or not open_reads:
            if token is None:
                return web.json_response(
                    {"code": 1, "src": "this service has no API token: state changes are off"},
                    status=403,
                )
            if not token_matches(_presented_token(request), token):
                return web.json_response(
                    {"code": 1, "src": "a valid token is required (Authorization: Bearer ...)"},
                    status=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return await handler(request)

    return check


def build_app(
    pool: StoredProxyPool,
    token: str | None = None,
    *,
    open_reads: bool = True,
    max_body: int = 65536,
) -> web.Application:
    """The API over ``pool``. ``token``: what state changes (and, without ``open_reads``,
    every request) must present; None refuses every state change."""
    app = web.Application(
        middlewares=[_auth_middleware(token, open_reads)], client_max_size=max_body
    )
    app[POOL_KEY] = pool

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


async def start_api(
    pool: StoredProxyPool,
    host: str = "127.0.0.1",
    port: int = 5010,
    *,
    token: str | None = None,
    max_body: int = 65536,
) -> web.AppRunner:
    """Start the API on ``host:port``; ``await runner.cleanup()`` stops it. Anything but a
    loopback address needs a ``token`` (every request must then present it)."""
    from proxies.api_token import TokenError, is_loopback

    loopback = is_loopback(host)
    if not loopback and not token:
        raise TokenError(f"refusing to listen on {host} (not loopback) without an API token")
    app = build_app(pool, token, open_reads=loopback, max_body=max_body)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return int(server[1])
