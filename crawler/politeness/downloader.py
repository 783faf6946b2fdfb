"""Scrapy's downloader, asking the host's budget before each download (``DOWNLOADER`` in
crawler/settings.py).

Requests wait where Scrapy's own ``DOWNLOAD_DELAY`` makes them wait: in their host's downloader
slot, so a request waiting for its host holds no place of another host, and a crawl never
waits on a host it is not using. Each download takes a lease from the budget
(crawler/politeness/budget.py) and gives it back when it ends, however it ends; a lease given
back wakes the slots waiting for that host. A ``Retry-After``, a 429 or 503 and a ban
(the ban middleware's ``request_banned``) pause the host for everyone.

Limits: ``HOST_RATE`` and ``HOST_CONCURRENCY`` for every host this crawl uses (a rule may set
both, and so may a site-table row through its ``settings:``), ``HOST_BUDGETS`` per host
(``{"example.com": {"rate": 2, "concurrency": 1}}``). With none of them set, this is Scrapy's
downloader, unchanged. The budget is in Redis when ``HOST_BUDGET_REDIS_URL`` (or a distributed
crawl's ``REDIS_URL``) is set, shared by every process; in this process otherwise.

Stats: ``politeness/granted``, ``politeness/waits/<rate|concurrency|slowed>``,
``politeness/slowed/<reason>``.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro
from scrapy.utils.httpobj import urlparse_cached

from crawler.antiban import parse_retry_after, request_banned
from crawler.politeness.budget import Budget, Lease, Limits, RedisBudget, local_budget

logger = logging.getLogger(__name__)
LEASE = "_host_lease"


def limits_from_settings(settings: Any) -> tuple[Limits, dict[str, Limits]]:
    default = Limits(settings.getfloat("HOST_RATE"), settings.getint("HOST_CONCURRENCY"))
    per_host = {}
    for host, spec in settings.getdict("HOST_BUDGETS").items():
        if not isinstance(spec, dict):
            raise ValueError(f"HOST_BUDGETS[{host!r}] must be a mapping of rate and concurrency")
        per_host[str(host).lower()] = Limits(
            float(spec.get("rate", default.rate)), int(spec.get("concurrency", default.concurrency))
        )
    return default, per_host


def budget_from_settings(settings: Any) -> Budget:
    url = settings.get("HOST_BUDGET_REDIS_URL") or settings.get("REDIS_URL")
    if not url:
        return local_budget()
    import redis

    from crawler.core.redis import redis_params

    client = redis.Redis.from_url(url, **redis_params(settings))
    return RedisBudget(
        client,
        prefix=settings.get("HOST_BUDGET_REDIS_PREFIX"),
        lease_ttl=settings.getfloat("DOWNLOAD_TIMEOUT") + 60,
    )


class BudgetedDownloader(Downloader):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.default_limits, self.per_host = limits_from_settings(settings)
        self.enabled = self.default_limits.limited or any(
            limits.limited for limits in self.per_host.values()
        )
        self.budget: Budget | None = budget_from_settings(settings) if self.enabled else None
        self.slow_statuses = {int(s) for s in settings.getlist("HOST_BUDGET_SLOW_STATUSES")}
        self.slow_seconds = settings.getfloat("HOST_BUDGET_SLOW_SECONDS")
        self.slow_max = settings.getfloat("HOST_BUDGET_SLOW_MAX")
        self._waiting: dict[str, set[Slot]] = {}  # host -> slots waiting for a lease of it
        if self.enabled:
            crawler.signals.connect(self._banned, signal=request_banned)
            logger.info(
                "Host budget: %s per host%s, %s",
                _describe(self.default_limits),
                f", {len(self.per_host)} host(s) of their own" if self.per_host else "",
                "shared through Redis"
                if isinstance(self.budget, RedisBudget)
                else "in this process",
            )

    def limits(self, host: str) -> Limits:
        return self.per_host.get(host, self.default_limits)

    # -- the queue of a slot -------------------------------------------------------------------

    def _process_queue(self, slot: Slot) -> None:
        if self.budget is None:
            super()._process_queue(slot)
            return
        if slot.latercall:
            return
        delay = slot.download_delay()
        while slot.queue and slot.free_transfer_slots() > 0:
            now = monotonic()
            if delay and slot.lastseen + delay > now:  # Scrapy's own delay first
                slot.latercall = call_later(slot.lastseen + delay - now, self._latercall, slot)
                return
            request, queue_dfd = slot.queue[0]
            host = (urlparse_cached(request).hostname or "").lower()
            grant = self._take(host)
            if grant.lease is None:
                self._count(f"politeness/waits/{grant.why}")
                if grant.why == "concurrency":
                    self._waiting.setdefault(host, set()).add(slot)
                slot.latercall = call_later(grant.wait, self._latercall, slot)
                return
            slot.queue.popleft()
            slot.lastseen = now
            request.meta[LEASE] = grant.lease
            self._count("politeness/granted")
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))

    async def _download(self, slot: Slot, request: Any) -> Any:
        if self.budget is None:
            return await super()._download(slot, request)
        lease: Lease | None = request.meta.pop(LEASE, None)
        try:
            response = await super()._download(slot, request)
        finally:
            if lease is not None:
                self.budget.give_back(lease)
                self._wake(lease.host)
        self._read_answer(request, response)
        return response

    def _take(self, host: str) -> Any:
        assert self.budget is not None
        try:
            return self.budget.take(host, self.limits(host))
        except Exception as exc:  # Redis away: keep the budget in this process, say so once
            self._lost_shared(exc)
            return self.budget.take(host, self.limits(host))

    def _give_back(self, lease: Lease) -> None:
        assert self.budget is not None
        try:
            self.budget.give_back(lease)
        except Exception as exc:  # its lease expires in Redis by itself
            self._lost_shared(exc)

    def _lost_shared(self, exc: Exception) -> None:
        logger.error(
            "The shared host budget cannot be reached (%s: %s); this crawl keeps its hosts' "
            "budget in its own process from now on",
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        self._count("politeness/shared_lost")
        self.budget = local_budget()

    def _wake(self, host: str) -> None:
        """A place of ``host`` is free: the slots waiting for one ask again now."""
        for slot in self._waiting.pop(host, ()):
            if slot.latercall:
                slot.latercall.cancel()
                slot.latercall = None
            self._process_queue(slot)

    # -- hosts that ask for less -------------------------------------------------------------

    def _read_answer(self, request: Any, response: Any) -> None:
        status = getattr(response, "status", 200)
        if status not in self.slow_statuses and status != 429:
            return
        asked = parse_retry_after(response.headers.get(b"Retry-After"))
        seconds = min(asked if asked is not None else self.slow_seconds, self.slow_max)
        self._slow(request, seconds, f"http_{status}")

    def _banned(self, request: Any, reason: str, outcome: Any, **kwargs: Any) -> None:
        if str(getattr(outcome, "value", outcome)).lower() != "ban":
            return
        response = kwargs.get("response")
        if response is not None and response.status in self.slow_statuses | {429}:
            return  # its status has slowed the host already
        retry_after = kwargs.get("retry_after")
        seconds = retry_after if retry_after is not None else self.slow_seconds
        self._slow(request, min(seconds, self.slow_max), "ban")

    def _slow(self, request: Any, seconds: float, reason: str) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        if seconds <= 0 or self.budget is None or not self.limits(host).limited:
            return
        try:
            self.budget.slow(host, seconds, reason)
        except Exception as exc:
            self._lost_shared(exc)
            self.budget.slow(host, seconds, reason)
        self._count(f"politeness/slowed/{reason}")
        logger.info("Host %s slowed for everyone for %.0f s (%s)", host, seconds, reason)

    def _count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


def _describe(limits: Limits) -> str:
    parts = []
    if limits.rate:
        parts.append(f"{limits.rate:g} request(s)/s")
    if limits.concurrency:
        parts.append(f"{limits.concurrency} at once")
    return " and ".join(parts) or "no limit"


__all__ = ["BudgetedDownloader", "budget_from_settings", "limits_from_settings"]
