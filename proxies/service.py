"""The long-running pool service: the HTTP API, source refreshes and scheduled re-checks.

``python -m proxies serve`` runs :func:`run_service` until interrupted. Sources are fetched
when due (each at its own ``refresh``; rule sources only with a rule runner), new proxies are
checked at once, and known ones when their ``next_check_at`` comes; every loop sleeps in between
and stops when ``stop`` is set. The API enforces ``token`` on state changes (:mod:`proxies.api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from proxies.api import bound_port, start_api
from proxies.checker import RecheckLoop, check_into_store
from proxies.pool import StoredProxyPool
from proxies.settings import PoolSettings
from proxies.sources import ProxySource, RuleRunner, SourceSchedule, fetch_sources
from proxies.validator import JudgeUnavailable, Validator

logger = logging.getLogger(__name__)


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
    runner = await start_api(
        pool, host, port, token=token, max_body=s.getint("PROXY_POOL_API_MAX_BODY")
    )
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
