"""The data service's Prometheus endpoint, ``GET /metrics`` (docs/metrics.md): what the service
itself does (HTTP requests by method, route template and status code; their durations by route
template; when it started; the crawls it runs now) and every rule's crawl figures from the run
records (:mod:`crawler.service.run_metrics`), in prometheus-client's text format.

- **One registry per app** (``app.state.metrics``: a :class:`ServiceMetrics`), never
  prometheus-client's process-wide default one: tests, and several apps in one process, count
  apart. It is made when the app starts (this router's lifespan), or by the first request.
- **Requests are counted by** :class:`RequestMetrics`, an ASGI middleware, by the template of
  the route that answered (``/api/runs/{run_id}``, never the path with its id): ``unmatched``
  for a 404 no route took, ``other`` for the files served (dashboard, docs assets).
- **Read access**, as every read of the API (``read_access``): open on loopback while nobody
  signs in, else a viewer; Prometheus sends ``Authorization: Bearer <token>`` (an API token,
  ``scrapy auth tokens create prometheus --role viewer``).
- **A store away is no 500**: a scrape whose store fails gives the service's figures and
  ``crawler_store_up 0``.
- **The fleet's figures**: when the app has ``app.state.fleet`` with ``metric_families()``,
  its families are added (a fleet that fails is logged and left out).

>>> route_label({}, 404), route_label({"route": object()}, 200)
('unmatched', 'other')
>>> method_label("get"), method_label("BREW")
('GET', 'other')
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.core.switches import describe
from crawler.service.access import read_access
from crawler.service.gate import GatedRoute
from crawler.service.run_metrics import RunFigures

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# seconds; an event stream or an export lasts as long as it streams (the last buckets)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_making = threading.Lock()  # the first request and the lifespan may both make an app's metrics


def method_label(method: str) -> str:
    """The request's method, or ``other`` (a client may send any word)."""
    method = method.upper()
    return method if method in METHODS else "other"


def route_label(scope: Scope, status: int) -> str:
    """The template of the route that answered, ``unmatched`` (a 404 no route took) or
    ``other`` (a mounted app: the dashboard's files, the docs assets)."""
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str) and template:
        return template
    return "unmatched" if status == 404 else "other"


def running_runs(launcher: Any) -> list[Any]:
    """The crawls the service started that run now."""
    return [run for run in list(launcher.running.values()) if run.proc.poll() is None]


class ServiceCollector:
    """The figures read at each scrape: the service's start and uptime, the crawls it runs, the
    store's run records (or ``crawler_store_up 0``), the fleet's families."""

    def __init__(self, app: FastAPI, started: float) -> None:
        self.app = app
        self.started = started
        self.runs = RunFigures.from_settings(app.state.settings)

    def collect(self) -> Iterator[Metric]:
        state = self.app.state
        yield GaugeMetricFamily(
            "crawler_service_start_time_seconds",
            "When the data service started (seconds since the epoch)",
            value=self.started,
        )
        yield GaugeMetricFamily(
            "crawler_service_uptime_seconds",
            "Seconds since the data service started",
            value=max(0.0, time.time() - self.started),
        )
        launcher = getattr(state, "launcher", None)
        own = running_runs(launcher) if launcher is not None else []
        yield GaugeMetricFamily(
            "crawler_service_crawls_running",
            "Crawls the data service started that run now",
            value=len(own),
        )
        yield from self.run_families({run.rule for run in own})
        yield from fleet_families(state)

    def run_families(self, own: set[str]) -> list[Metric]:
        up = GaugeMetricFamily(
            "crawler_store_up", "1 when this scrape read the run records, 0 when the store failed"
        )
        try:
            families = self.runs.families(self.app.state.stores.get(), own)
        except Exception as exc:  # the store away: the service's own figures still go out
            logger.warning("/metrics could not read the run records: %s", describe(exc))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]


def fleet_families(state: Any) -> list[Metric]:
    """``state.fleet.metric_families()`` when the app has a fleet, else nothing."""
    fleet = getattr(state, "fleet", None)
    families = getattr(fleet, "metric_families", None)
    if not callable(families):
        return []
    try:
        return list(families())
    except Exception as exc:  # one part's failure leaves the rest of the scrape whole
        logger.warning("/metrics could not read the fleet's figures: %s", describe(exc))
        return []


class ServiceMetrics:
    """One app's registry: the request counter and histogram, and the collector of the rest."""

    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry()
        self.started = time.time()
        self.requests = Counter(
            "crawler_http_requests",
            "HTTP requests the data service answered, by method, route template and status code",
            ["method", "route", "code"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "crawler_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template",
            ["route"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(ServiceCollector(app, self.started))

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_label(scope, status)
        self.requests.labels(method_label(scope.get("method", "")), route, str(status)).inc()
        self.durations.labels(route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_of(app: FastAPI) -> ServiceMetrics:
    """The app's metrics, made the first time they are asked for."""
    metrics = getattr(app.state, "metrics", None)
    if metrics is None:
        with _making:
            metrics = getattr(app.state, "metrics", None)
            if metrics is None:
                metrics = app.state.metrics = ServiceMetrics(app)
    return metrics


class RequestMetrics:
    """ASGI middleware: each HTTP request counted and timed once its answer has gone (an error
    that escapes the app is a 500: Starlette's outermost middleware answers it so)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = metrics_of(scope["app"])
        started = time.perf_counter()
        status = 500

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            metrics.observe(scope, status, time.perf_counter() - started)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    metrics_of(app)  # the service's start time is its start, not its first request's
    yield


router = APIRouter(tags=["metrics"], route_class=GatedRoute, lifespan=lifespan)


@router.get(
    "/metrics",
    dependencies=[Depends(read_access)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    """The service's figures and every rule's crawl figures, in Prometheus' text format."""
    return Response(metrics_of(request.app).exposition(), media_type=CONTENT_TYPE_LATEST)
