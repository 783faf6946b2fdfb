"""The app factory: ``create_app(settings)`` builds the FastAPI app of ``scrapy serve``.

It holds, on ``app.state``: the settings and :class:`ServiceConfig`, the store (one per worker
thread), the API tokens, sign-in (``signin``: a :class:`~crawler.service.signin.signin.SignIn`
and its session middleware when ``SIGNIN_PROVIDERS`` is set, else None), the crawls started here
and the proxy pool sampler; a background
thread records ended crawls and samples the pool. OpenAPI is at ``/openapi.json``, its pages
at ``/docs`` and ``/redoc`` with their assets served from this machine (the ``fastapi-offline``
package ships them), and the dashboard's built assets at ``/`` when present.
"""

from __future__ import annotations

import logging
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

from crawler.service import (
    admin_api,
    events_api,
    items_api,
    proxies_api,
    rules_api,
    runs_api,
    schedules_api,
)
from crawler.service.api_tokens import TokenCheck
from crawler.service.config import ServiceConfig
from crawler.service.launcher import CrawlLauncher, Launcher
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
    dashboard routes in the browser), except under ``/api``."""

    async def get_response(self, path: str, scope: Any) -> Any:
        try:
            return await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or path.startswith("api"):
                raise
            return await super().get_response("index.html", scope)


class Background:
    """One thread: records crawls started here when they end, samples the proxy pool."""

    def __init__(self, app: FastAPI, tick: float = 1.0) -> None:
        self.app = app
        self.tick = tick
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="service-background", daemon=True)
        self.next_sample = 0.0

    def run(self) -> None:
        import time

        state = self.app.state
        while not self.stop.is_set():
            try:
                state.launcher.reap()
                if time.monotonic() >= self.next_sample:
                    self.next_sample = time.monotonic() + state.config.proxy_sample_interval
                    state.sampler.sample()
            except Exception:  # one failed look (a store away) must not end the loop
                logger.exception("data service background task failed")
            self.stop.wait(self.tick)


def _docs_assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def add_docs(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS, StaticFiles(directory=_docs_assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Crawler data service",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="Crawler data service",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
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
        try:
            yield
        finally:
            if worker is not None:
                worker.stop.set()
                worker.thread.join(timeout=10)
            app.state.launcher.shutdown()
            stores.close()
            if signin is not None:
                signin.close()

    app = FastAPI(
        title="Crawler data service",
        description="Items, runs, rules, schedules and proxies of the crawler platform.",
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.config = config
    app.state.stores = stores
    app.state.tokens = TokenCheck(config.tokens_file, config.tokens_env)
    app.state.signin = signin
    if signin is not None:
        app.add_middleware(SigninSessionMiddleware, signin=signin)
    app.state.launcher = CrawlLauncher(
        config, stores.get, **({"launcher": launcher} if launcher else {})
    )
    app.state.indexes = items_api.AutoIndexes(config.auto_index, config.auto_index_max)
    app.state.sampler = proxies_api.PoolSampler(
        settings, config.data_dir, config.proxy_sample_interval, config.proxy_history_days
    )
    for module in (
        items_api,
        runs_api,
        events_api,
        rules_api,
        schedules_api,
        proxies_api,
        admin_api,
        signin_routes,
    ):
        app.include_router(module.router)
    add_docs(app)
    add_dashboard(app, config.dashboard_dir)
    return app
