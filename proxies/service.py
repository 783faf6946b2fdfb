"""The long-running pool service: the HTTP API served, source refreshes and scheduled re-checks.

``python -m proxies serve`` runs :func:`run_service` until interrupted. Sources are fetched
when due (each at its own ``refresh``; rule sources only with a rule runner), new proxies are
checked at once, and known ones when their ``next_check_at`` comes; every loop sleeps in between
and stops when ``stop`` is set. The API enforces ``token`` on state changes (:mod:`proxies.api`).

:func:`start_api` serves :mod:`proxies.api`'s application with aiohttp's request limits set
from ``PROXY_POOL_API_MAX_REQUEST_LINE``/``_MAX_HEADER_FIELD``/``_MAX_HEADERS``, and answers
what never reaches the application (a request aiohttp cannot parse: 431 or 400; a handler that
raised: 500) with one line and the security headers, counted in the app's
:class:`~proxies.api.Refusals` and logged on one line, never with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from proxies.api import REFUSALS_KEY, SECURITY_HEADERS, Refusals, build_app
from proxies.api_token import TokenError, is_loopback
from proxies.checker import RecheckLoop, check_into_store
from proxies.pool import StoredProxyPool
from proxies.settings import PoolSettings
from proxies.sources import ProxySource, RuleRunner, SourceSchedule, fetch_sources
from proxies.validator import JudgeUnavailable, Validator

logger = logging.getLogger(__name__)


def _error_answer(handler: RequestHandler, status: int, exc: BaseException | None) -> tuple:
    """(status, kind, one line) for what aiohttp answers without the app: a request it cannot
    parse, a handler that raised (500) or timed out (504)."""
    if isinstance(exc, LineTooLong):
        limits = f"{handler.max_line_size} bytes a request line, {handler.max_field_size} a header"
        return 431, "request line or header too large (431)", f"too large (at most {limits})"
    if isinstance(exc, HttpProcessingError) and "too many headers" in exc.message.lower():
        return 431, "too many headers (431)", f"too many headers (at most {handler.max_headers})"
    if isinstance(exc, BadHttpMethod):
        return 400, "not HTTP (400)", "not an HTTP request"
    if isinstance(exc, HttpProcessingError):
        return 400, "malformed request (400)", "malformed HTTP request"
    if status == 504:
        return 504, "handler timed out (504)", "the answer took too long"
    return 500, "handler failed (500)", "the server failed to answer; its log says why"


class _EdgeHandler(RequestHandler):
    """aiohttp's connection handler, answering its errors with one line and the security
    headers, and logging them counted, on one line, without a traceback."""

    __slots__ = ("_refusals",)

    def __init__(self, manager: web.Server, *, refusals: Refusals, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._refusals = refusals

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp's: too late for an answer
            raise ConnectionError("the answer was already being sent")
        status, kind, text = _error_answer(self, status, exc)
        detail = f"from {request.remote}"
        if status >= 500:
            where = f" {request.method} {request.raw_path[:100]}" if exc is not None else ""
            detail += f"{where}: {type(exc).__name__}: {exc}" if exc else ""
        self._refusals.add(kind, detail, logging.ERROR if status >= 500 else logging.WARNING)
        answer = web.Response(status=status, text=f"{status}: {text}\n", headers=SECURITY_HEADERS)
        answer.force_close()
        return answer

    def log_exception(self, *args: Any, **kw: Any) -> None:  # aiohttp's own failures
        exc = kw.get("exc_info")
        what = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else ""
        self._refusals.add("server error", f"{args[0] if args else ''} {what}", logging.ERROR)

    def log_debug(self, *args: Any, **kw: Any) -> None:
        kw.pop("exc_info", None)
        super().log_debug(*args, **kw)


class _EdgeServer(web.Server):
    def __init__(self, plain: web.Server, refusals: Refusals, limits: dict[str, int]) -> None:
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
        )
        self._edge = refusals, limits

    def __call__(self) -> RequestHandler:
        refusals, limits = self._edge
        return _EdgeHandler(
            self, refusals=refusals, loop=asyncio.get_running_loop(), access_log=None, **limits
        )


class _EdgeRunner(web.AppRunner):
    """An AppRunner whose connections are :class:`_EdgeHandler`s with the request limits."""

    def __init__(self, app: web.Application, limits: dict[str, int]) -> None:
        super().__init__(app, access_log=None, handle_signals=False)
        self._limits = limits

    async def _make_server(self) -> web.Server:  # aiohttp's hook for a runner's server
        plain = await super()._make_server()  # the app's start-up, as aiohttp does it
        return _EdgeServer(plain, self.app[REFUSALS_KEY], self._limits)


def _limit(s: PoolSettings, name: str, least: int) -> int:
    value = s.getint(name)
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")
    return value


async def start_api(
    pool: StoredProxyPool,
    host: str = "127.0.0.1",
    port: int = 5010,
    *,
    token: str | None = None,
    settings: Any = None,
) -> web.AppRunner:
    """Start the API on ``host:port``; ``await runner.cleanup()`` stops it. Anything but a
    loopback address needs a ``token`` (every request must then present it). ``settings``:
    the ``PROXY_POOL_API_*`` limits, Host names and back-off."""
    s = PoolSettings.wrap(settings)
    loopback = is_loopback(host)
    if not loopback and not token:
        raise TokenError(f"refusing to listen on {host} (not loopback) without an API token")
    limits = {
        "max_line_size": _limit(s, "PROXY_POOL_API_MAX_REQUEST_LINE", 256),
        "max_field_size": _limit(s, "PROXY_POOL_API_MAX_HEADER_FIELD", 256),
        "max_headers": _limit(s, "PROXY_POOL_API_MAX_HEADERS", 8),
    }
    if "max_headers" not in inspect.signature(RequestHandler).parameters:  # aiohttp < 3.14
        del limits["max_headers"]
        logger.warning("this aiohttp cannot bound the number of headers: install aiohttp>=3.14.1")
    runner = _EdgeRunner(build_app(pool, token, open_reads=loopback, settings=s), limits)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return int(server[1])


async def source_loop(
    pool: StoredProxyPool,
    validator: Validator | None,
    sources: list[ProxySource],
    stop: asyncio.Event,
    min_sleep: float = 5.0,
    max_sleep: float = 600.0,
    rule_runner: RuleRunner | None = None,
    fetch_timeout: float = 30.0,
) -> None:
    schedule = SourceSchedule(sources)
    while not stop.is_set():
        try:
            await _fetch_due(pool, validator, schedule, rule_runner, fetch_timeout)
        except Exception:  # keep serving; the next round retries
            logger.exception("source round failed")
        wait = max(min_sleep, min(max_sleep, schedule.seconds_to_next()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)


async def _fetch_due(
    pool: StoredProxyPool,
    validator: Validator | None,
    schedule: SourceSchedule,
    rule_runner: RuleRunner | None,
    fetch_timeout: float,
) -> None:
    due = schedule.due()
    if due:
        found, reports = await fetch_sources(
            due, pool.store, timeout=fetch_timeout, rule_runner=rule_runner
        )
        for s in due:
            schedule.done(s)
        for r in reports:
            logger.info(
                "source %s: %d found, %d new%s",
                r.source,
                r.found,
                r.added,
                f" ({r.error})" if r.error else "",
            )
        new = [
            p
            for p in found
            if (rec := pool.store.get(p.key)) is not None and rec.checked_at is None
        ]
        if validator is not None and new:
            try:
                await check_into_store(pool.store, validator, pool.policy, new)
            except JudgeUnavailable as exc:  # the re-check loop will check them later
                logger.warning("new proxies not checked yet: %s", exc)


async def run_service(
    pool: StoredProxyPool,
    validator: Validator | None,
    sources: list[ProxySource],
    host: str = "127.0.0.1",
    port: int = 5010,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[int], Any] | None = None,
    *,
    token: str | None = None,
    rule_runner: RuleRunner | None = None,
    settings: Any = None,
) -> None:
    """Serve until ``stop`` is set (or SIGINT/SIGTERM when run as the main program)."""
    s = PoolSettings.wrap(settings)
    stop = stop or asyncio.Event()
    runner = await start_api(pool, host, port, token=token, settings=s)
    actual = bound_port(runner)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    tasks = []
    if sources:
        loop_ = source_loop(
            pool,
            validator,
            sources,
            stop,
            rule_runner=rule_runner,
            fetch_timeout=s.getfloat("PROXY_POOL_FETCH_TIMEOUT"),
        )
        tasks.append(asyncio.create_task(loop_))
    if validator is not None:
        rechecks = RecheckLoop(
            pool.store, validator, pool.policy, batch=s.getint("PROXY_POOL_RECHECK_BATCH")
        )
        tasks.append(asyncio.create_task(rechecks.run(stop)))
    logger.info("proxy pool API on http://%s:%d/", host, actual)
    if on_ready is not None:
        on_ready(actual)
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        pool.store.flush()
        refused = runner.app[REFUSALS_KEY].counts
        if refused:
            logger.info(
                "proxy API refused: %s", ", ".join(f"{n} {kind}" for kind, n in refused.items())
            )
