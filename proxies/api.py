"""The pool's HTTP API (``scrapy proxies serve``), loopback by default.

It speaks the paths of jhao104/proxy_pool, so that its clients work unchanged:

``GET /get/``     one proxy: ``{"proxy": "host:port", "https": bool, "anonymous": ..., ...}``,
                  or ``{"code": 0, "src": "no proxy"}``
``GET /pop/``     the same, and the proxy leaves the pool
``GET /all/``     every usable proxy, best first (also ``/get_all/``)
``GET /count/``   ``{"http_type": {"http": n, "https": m}, "source": {...}, "count": n}``
                  (also ``/get_status/``)
``GET /delete/?proxy=host:port``   ``{"code": 0, "src": true|false}``

Query parameters: ``type=https`` (proxies that passed the CONNECT check), and ours:
``domain=`` (rank by that domain's score, proven proxies for a target domain), ``anonymity=``
(minimum level: ``anonymous``, ``elite``), ``paid=`` (``1``/``0``). Paths work with and without
the trailing slash. Beyond jhao104: ``POST /report`` (JSON ``{"key"|"proxy", "outcome",
"domain", "latency"}``, or the same as query parameters) records an outcome, and ``GET /stats``
returns the pool's summary. Credentials never leave the server: ``proxy`` is ``host:port`` and
``key`` carries only a digest of them.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from aiohttp import web

from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool import StoredProxyPool
from proxies.scoring import ProxyRecord
from proxies.store import summary

logger = logging.getLogger(__name__)

POOL_KEY: web.AppKey[StoredProxyPool] = web.AppKey("pool", StoredProxyPool)

API_LIST = {
    "get": "get a usable proxy (?type=https&domain=&anonymity=&paid=)",
    "pop": "get and delete a usable proxy",
    "all": "get all usable proxies, best first",
    "count": "proxy counts by type and source",
    "delete?proxy=127.0.0.1:8080": "delete a proxy",
    "report": "POST {key|proxy, outcome: success|failure|ban, domain, latency}",
    "stats": "pool summary",
}


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


def build_app(pool: StoredProxyPool) -> web.Application:
    app = web.Application()
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
        ident = request.query.get("proxy") or request.query.get("key") or ""
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
        found = _find(pool, str(ident))
        if not found:
            return web.json_response({"code": 0, "src": False}, status=404)
        for rec in found:
            pool.report(rec.proxy, outcome, domain=data.get("domain") or None, latency=latency)
        return web.json_response({"code": 0, "src": True})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(summary(pool.store.all()))

    routes = [
        ("GET", "", index),
        ("GET", "get", get),
        ("GET", "pop", pop),
        ("GET", "all", all_),
        ("GET", "get_all", all_),
        ("GET", "count", count),
        ("GET", "get_status", count),
        ("GET", "delete", delete),
        ("GET", "refresh", refresh),
        ("GET", "report", report),
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
    pool: StoredProxyPool, host: str = "127.0.0.1", port: int = 5010
) -> web.AppRunner:
    """Start the API on ``host:port``; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(build_app(pool), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return int(server[1])
