"""Validation results into the store, and the re-check schedule.

``check_into_store`` validates a batch and writes verdicts (scores, latency, anonymity, next
check time) into a store, dropping proxies that failed too often. ``RecheckLoop`` re-checks
what is due, by each record's ``next_check_at`` (healthy proxies every
``PROXY_POOL_RECHECK_GOOD`` seconds, failing ones at doubling intervals): it sleeps until the
next one is due, never less than ``min_sleep``, so nothing re-checks in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from proxies.model import Proxy
from proxies.pool_store import ProxyStore
from proxies.scoring import ProxyRecord, ScoringPolicy
from proxies.validator import CheckResult, JudgeUnavailable, Validator

logger = logging.getLogger(__name__)


@dataclass
class CheckReport:
    checked: int = 0
    alive: int = 0
    dead: int = 0
    dropped: int = 0
    skipped: int = 0
    seconds: float = 0.0


def apply_results(
    store: ProxyStore,
    policy: ScoringPolicy,
    results: Iterable[CheckResult],
    now: float | None = None,
) -> CheckReport:
    """Write the validator's verdicts into ``store``; drop proxies dead past the bound."""
    now = time.time() if now is None else now
    report = CheckReport()
    changes: dict[str, Callable[[ProxyRecord], None]] = {}
    checked: dict[str, Proxy] = {}
    for res in results:
        if res.alive is None:
            report.skipped += 1
            continue
        report.checked += 1
        if res.alive:
            report.alive += 1
        else:
            report.dead += 1

        def change(rec: ProxyRecord, res: CheckResult = res) -> None:
            policy.apply_check(
                rec,
                alive=bool(res.alive),
                latency=res.latency,
                anonymity=res.anonymity,
                https=res.https,
                error=res.error,
                targets=res.targets,
                now=now,
            )

        changes[res.proxy.key] = change
        checked[res.proxy.key] = res.proxy
    # one batch for the store (one round trip to Redis, not one per proxy)
    updated = store.update_many(changes)
    unknown = [checked[k] for k, rec in updated.items() if rec is None]
    if unknown:  # checked before being added: add, then record the verdict
        store.add(unknown, now=now)
        updated.update(store.update_many({p.key: changes[p.key] for p in unknown}))
    dead_keys = [k for k, rec in updated.items() if rec is not None and policy.is_dead(rec)]
    if dead_keys:
        report.dropped = store.remove(dead_keys)
    store.flush()
    return report


def slowest_first(records: Iterable[ProxyRecord]) -> list[Proxy]:
    """The proxies of ``records`` in the order to check them: those whose last check timed out
    first, then the live ones by latency, slowest first; the others (never checked, or refused
    at once) after them, in the store's order. With ``concurrency`` checks at a time, a round
    whose slow checks start first ends about when they do; started last, they add up to a
    whole timeout to it.

    >>> fast, slow, stuck, new = (Proxy("10.0.0.1", p) for p in (1, 2, 3, 4))
    >>> order = slowest_first([ProxyRecord(new), ProxyRecord(fast, latency=0.1),
    ...     ProxyRecord(stuck, last_error="timeout"), ProxyRecord(slow, latency=1.5)])
    >>> [p.port for p in order]
    [3, 2, 1, 4]
    """
    ordered = sorted(records, key=lambda r: (r.last_error != "timeout", -(r.latency or 0.0)))
    return [r.proxy for r in ordered]


async def check_into_store(
    store: ProxyStore,
    validator: Validator,
    policy: ScoringPolicy,
    proxies: Iterable[Proxy],
    progress: Callable[[CheckResult], None] | None = None,
) -> CheckReport:
    start = time.perf_counter()
    results = await validator.check_all(proxies, progress)
    report = apply_results(store, policy, results)
    report.seconds = time.perf_counter() - start
    return report


class RecheckLoop:
    """Re-check due proxies until ``stop`` is set; sleeps between rounds."""

    def __init__(
        self,
        store: ProxyStore,
        validator: Validator,
        policy: ScoringPolicy,
        batch: int = 500,
        min_sleep: float = 1.0,
        max_sleep: float = 60.0,
    ) -> None:
        self.store = store
        self.validator = validator
        self.policy = policy
        self.batch = batch
        self.min_sleep = min_sleep
        self.max_sleep = max_sleep
        self.rounds = 0

    async def run_once(self) -> CheckReport:
        due = self.store.due(time.time(), self.batch)
        if not due:
            return CheckReport()
        self.rounds += 1
        report = await check_into_store(self.store, self.validator, self.policy, slowest_first(due))
        logger.info(
            "re-checked %d proxies: %d alive, %d dead, %d dropped in %.1fs",
            report.checked,
            report.alive,
            report.dead,
            report.dropped,
            report.seconds,
        )
        return report

    def seconds_to_next(self) -> float:
        upcoming = self.store.due(float("inf"), 1)
        if not upcoming:
            return self.max_sleep
        wait = upcoming[0].next_check_at - time.time()
        return max(self.min_sleep, min(self.max_sleep, wait))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except JudgeUnavailable as exc:  # nothing is judged until it is back
                logger.warning("re-checks paused: %s", exc)
            except Exception:  # keep serving; the next round retries
                logger.exception("re-check round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.seconds_to_next())
