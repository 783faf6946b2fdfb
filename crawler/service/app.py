"""The app factory: ``create_app(settings)`` builds the FastAPI app of ``scrapy serve``.

It holds, on ``app.state``: the settings and :class:`ServiceConfig`, the store (one per worker
thread), the API tokens, sign-in (``signin``: a :class:`~crawler.service.signin.signin.SignIn`
and its session middleware when ``SIGNIN_PROVIDERS`` is set, else None), the crawls started here,
the listings' indexes and the proxy pool sampler; a background thread records ended crawls,
creates the indexes the listings are declared with and samples the pool. Around everything sits
the edge (:mod:`~crawler.service.edge`: the Host allow-list, security headers); every router's
routes are gated (:mod:`~crawler.service.gate`: the caller, then the body's size, before a body
is read); error answers are bounded (:mod:`~crawler.service.errors`). OpenAPI is at
``/openapi.json``, its pages at ``/docs`` and ``/redoc`` with their assets served from this
machine (the ``fastapi-offline`` package ships them; each page's policy allows its one inline
script by its hash), and the dashboard's built assets at ``/`` when present.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from scrapy.settings import BaseSettings
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from crawler.service import (
    accounts_api,
    admin_api,
    alerts_api,
    captcha_api,
    drop_api,
    errors,
    events_api,
    files_api,
    hosts_api,
    items_api,
    metrics,
    nodes_api,
    overview_api,
    pick_api,
    proxies_api,
    rules_api,
    run_changes_api,
    runs_api,
    schedules_api,
)
from crawler.service.api_tokens import TokenCheck
from crawler.service.config import ServiceConfig
from crawler.service.edge import CSP, AllowedHosts, Edge
from crawler.service.gate import check_route_limits
from crawler.service.indexes import Indexes
from crawler.service.launcher import CrawlLauncher, Launcher
from crawler.service.rulefiles import PreviewSlots
from crawler.service.signin import routes as signin_routes
from crawler.service.signin.session_cookies import SigninSessionMiddleware
from crawler.service.signin.signin import SignIn, SigninConfig
from crawler.service.thread_stores import StoreProvider
from crawler.store import Store, thread_store_factory

logger = logging.getLogger(__name__)

DOCS_ASSETS = "/docs-assets"
FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Crawler data service</title></head>
<body><h1>Crawler data service</h1>
<p>The dashboard is not built here (no <code>dashboard/dist/</code>).
The API is at <a href="/api/rules">/api/</a>, its documentation at
<a href="/docs">/docs</a> and <a href="/redoc">/redoc</a>.</p></body></html>
"""


class Dashboard(StaticFiles):
    """The dashboard's built files; a path that is no file gets ``index.html`` (the
    dashboard routes in the browser), except under ``/api``.

    ``index.html`` is written for each request with a new nonce (a ``csp-nonce`` meta tag) and
    a policy that lets in the ``<style>`` elements carrying it (CodeMirror's, which read the
    nonce from the tag) and no other; it is never cached, so the page and its policy match."""

    async def get_response(self, path: str, scope: Any) -> Any:
        if path in (".", "index.html"):
            return self.index_page(scope)
        try:
            return await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or path.startswith("api"):
                raise
            return self.index_page(scope)

    def index_page(self, scope: Any) -> HTMLResponse:
        if scope["method"] not in ("GET", "HEAD"):
            raise StarletteHTTPException(405)
        nonce = secrets.token_urlsafe(18)
        page = (Path(str(self.directory)) / "index.html").read_text(encoding="utf-8")
        page = page.replace("<head>", f'<head>\n    <meta name="csp-nonce" content="{nonce}" />', 1)
        policy = CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
        signin = getattr(getattr(scope.get("app"), "state", None), "signin", None)
        if signin is not None and signin.frame_origins():  # WeChat's QR code in the page
            policy += "; frame-src " + " ".join(signin.frame_origins())
        headers = {"content-security-policy": policy, "cache-control": "no-store"}
        return HTMLResponse(page, headers=headers)


class ServiceApp(FastAPI):
    """The FastAPI app inside its edge (:class:`~crawler.service.edge.Edge`), which is outside
    Starlette's error middleware too, so that every answer passes it, a 500 included."""

    def build_middleware_stack(self) -> ASGIApp:
        return Edge(super().build_middleware_stack(), self.state.hosts)


class Background:
    """One thread: records crawls started here when they end, creates the listings' indexes,
    samples the proxy pool."""

    def __init__(self, app: FastAPI, tick: float = 1.0) -> None:
        self.app = app
        self.tick = tick
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="service-background", daemon=True)
        self.next_sample = 0.0
        self.next_alerts = 0.0

    def run(self) -> None:
        import time

        state = self.app.state
        self.next_alerts = time.monotonic() + state.alerts.interval
        while not self.stop.is_set():
            try:
                state.launcher.reap()
                store = state.stores.get()
                state.indexes.reconcile(store, items_api.item_collections(store))
                if time.monotonic() >= self.next_sample:
                    self.next_sample = time.monotonic() + state.config.proxy_sample_interval
                    state.sampler.sample()
                if time.monotonic() >= self.next_alerts:  # digests due, late scheduled runs
                    self.next_alerts = time.monotonic() + state.alerts.interval
                    state.alerts.tick()
            except Exception:  # one failed look (a store away) must not end the loop
                logger.exception("data service background task failed")
            self.stop.wait(self.tick)


def _docs_assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def with_own_policy(page: HTMLResponse) -> HTMLResponse:
    """A docs page with the dashboard's policy, but for its inline scripts (allowed by their
    SHA-256, nothing else inline) and inline styles (Swagger UI and ReDoc set them)."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in INLINE_SCRIPT.findall(page.body.decode("utf-8"))
    ]
    policy = CSP.replace("script-src 'self'", " ".join(["script-src 'self'", *hashes]))
    policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    policy += "; worker-src 'self' blob:"
    page.headers["content-security-policy"] = policy
    return page


def add_docs(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS, StaticFiles(directory=_docs_assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return with_own_policy(
            get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="Crawler data service",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return with_own_policy(
            get_redoc_html(
                openapi_url="/openapi.json",
                title="Crawler data service",
                redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )


def add_dashboard(app: FastAPI, dist: Path) -> None:
    if (dist / "index.html").is_file():
        app.mount("/", Dashboard(directory=dist, html=True), name="dashboard")
        return

    @app.get("/", include_in_schema=False)
    def fallback() -> HTMLResponse:
        return HTMLResponse(FALLBACK_PAGE)


def warm_up(settings: BaseSettings) -> None:
    """Compile the rules once at start, so the first listing does not pay for it."""
    from crawler.spider import project_rules

    try:
        project_rules(settings)
    except Exception:  # a broken plugin module: the listing reports it
        logger.exception("compiling the rules at start failed")


def create_app(
    settings: BaseSettings,
    *,
    host: str | None = None,
    make_store: Callable[[], Store] | None = None,
    launcher: Launcher | None = None,
    background: bool = True,
) -> FastAPI:
    """The service's app for ``settings`` (``host``: the address it is bound to). A sign-in
    provider whose secret is not in the environment raises ProviderError."""
    overrides = {"host": host} if host is not None else {}
    config = ServiceConfig.from_settings(settings, **overrides)
    signin_config = SigninConfig.from_settings(settings)
    signin = SignIn(signin_config) if signin_config.configured else None
    stores = StoreProvider(make_store or thread_store_factory(config.store_uri, settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if signin is not None:
            signin.guard_logs()  # uvicorn sets up its handlers after the app is built
        await run_in_threadpool(warm_up, settings)
        worker = Background(app) if background else None
        if worker is not None:
            worker.thread.start()
            app.state.fleet.watch.start()  # the nodes' health, distributed runs' records
        try:
            yield
        finally:
            if worker is not None:
                worker.stop.set()
                app.state.fleet.watch.stop()
                worker.thread.join(timeout=10)
            app.state.launcher.shutdown()
            stores.close()
            if signin is not None:
                signin.close()

    app = ServiceApp(
        title="Crawler data service",
        description="Items, runs, rules, schedules and proxies of the crawler platform.",
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.config = config
    app.state.hosts = AllowedHosts(config.host, config.base_url, config.allowed_hosts)
    errors.install(app)
    app.state.stores = stores
    app.state.tokens = TokenCheck(config.tokens_file, config.tokens_env)
    app.state.signin = signin
    if signin is not None:
        app.add_middleware(SigninSessionMiddleware, signin=signin)
    app.state.launcher = CrawlLauncher(
        config, stores.get, **({"launcher": launcher} if launcher else {}),
        rules=lambda: rules_api.project_state_of(settings)[0],  # for chained runs
    )  # fmt: skip
    app.state.fleet = nodes_api.FleetState(settings, stores)
    app.state.alerts = alerts_api.AlertsState(settings, stores, config.schedule_dir)
    app.state.indexes = Indexes(
        settings, item_types=config.index_item_types, indexes=config.indexes,
        data_dir=config.data_dir, admin_max=config.admin_index_max,
    )  # fmt: skip
    app.state.previews = PreviewSlots(config.preview_concurrency)
    app.state.sampler = proxies_api.PoolSampler(
        settings, config.data_dir, config.proxy_sample_interval, config.proxy_history_days
    )
    routers = [
        m.router
        for m in (items_api, runs_api, events_api, overview_api, rules_api, pick_api, schedules_api,
                  proxies_api, hosts_api, admin_api, signin_routes, metrics, nodes_api,
                  alerts_api, drop_api, files_api, run_changes_api, captcha_api,
                  accounts_api)
    ]  # fmt: skip
    check_route_limits(config.body_max_routes, [r for router in routers for r in router.routes])
    for router in routers:
        app.include_router(router)
    app.add_middleware(metrics.RequestMetrics)  # every request counted for /metrics
    add_docs(app)
    add_dashboard(app, config.dashboard_dir)
    return app
