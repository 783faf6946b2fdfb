"""What the pool knows about each proxy, and the policy that turns outcomes into scores.

A :class:`ProxyRecord` holds one proxy's health: an overall score, a score per target domain,
latency, anonymity, HTTPS support, counters, and the times of its last and next check. The
:class:`ScoringPolicy` is the one place that decides how outcomes move scores, when a proxy is
benched or dropped, when it is due for a re-check and how a proxy is picked. Both stores use it,
so the embedded pool and the Redis pool behave the same.

>>> from proxies.model import Proxy, Outcome
>>> policy = ScoringPolicy()
>>> rec = ProxyRecord(Proxy.parse("10.0.0.1:8080"))
>>> policy.apply(rec, Outcome.SUCCESS, domain="example.com", now=0.0)  # seconds benched
0.0
>>> rec.score > INITIAL_SCORE, rec.domain_scores["example.com"] > INITIAL_SCORE
(True, True)
>>> policy.apply(rec, Outcome.FAILURE, now=1.0)
15.0
>>> rec.fail_streak, rec.benched_until > 1.0
(1, True)
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from proxies.model import Anonymity, Outcome
from proxies.record import INITIAL_SCORE, MAX_SCORE, MIN_SCORE, ProxyRecord
from proxies.settings import PoolSettings

__all__ = [
    "INITIAL_SCORE",
    "MAX_SCORE",
    "MIN_SCORE",
    "Filters",
    "ProxyRecord",
    "ScoringPolicy",
]


@dataclass(frozen=True)
class Filters:
    """What a caller asks for beyond a domain: paid or free, minimum anonymity, HTTPS support."""

    paid: bool | None = None
    min_anonymity: Anonymity | None = None
    https: bool = False
    scheme: str | None = None

    def accepts(self, rec: ProxyRecord) -> bool:
        if self.paid is not None and rec.proxy.paid != self.paid:
            return False
        if self.min_anonymity is not None and not (
            rec.anonymity is not None and rec.anonymity >= self.min_anonymity
        ):
            return False
        if self.https and rec.https is not True:
            return False
        return not (self.scheme and rec.proxy.scheme != self.scheme)


@dataclass
class ScoringPolicy:
    """How outcomes move scores, when proxies are benched, re-checked and dropped.

    Scores live in [0, 100]; a new proxy starts at 10. Successes add, failures and bans
    subtract (a ban counts mostly against the domain that banned). A failure benches the proxy
    for ``bench_base * 2**(streak-1)`` seconds (capped), so a dead proxy backs off instead of
    being retried in a loop; after ``max_failures`` failures in a row it is dead and dropped.
    """

    success_gain: float = 5.0
    check_gain: float = 10.0
    failure_loss: float = 10.0
    ban_loss: float = 25.0
    ban_overall_loss: float = 5.0
    ban_bench_base: float = 60.0  # a ban benches the proxy for that domain, doubling per ban
    max_failures: int = 6
    bench_base: float = 15.0
    bench_max: float = 1800.0
    recheck_good: float = 300.0  # seconds between re-checks of a healthy proxy
    recheck_base: float = 120.0  # first re-check interval after a failure, doubled per failure
    recheck_max: float = 6 * 3600.0
    pick_top: int = 5  # randomness among this many best
    latency_weight: float = 10.0  # score points lost per second of latency
    anonymity_bonus: float = 2.0  # per anonymity level

    @classmethod
    def from_settings(cls, settings: Any) -> ScoringPolicy:
        s = PoolSettings.wrap(settings)
        return cls(
            max_failures=s.getint("PROXY_POOL_MAX_FAILURES"),
            bench_base=s.getfloat("PROXY_POOL_BENCH_BASE"),
            bench_max=s.getfloat("PROXY_POOL_BENCH_MAX"),
            ban_bench_base=s.getfloat("PROXY_POOL_BAN_BENCH_BASE"),
            recheck_good=s.getfloat("PROXY_POOL_RECHECK_GOOD"),
            recheck_base=s.getfloat("PROXY_POOL_RECHECK_BASE"),
            recheck_max=s.getfloat("PROXY_POOL_RECHECK_MAX"),
            pick_top=s.getint("PROXY_POOL_PICK_TOP"),
        )

    # -- outcomes -------------------------------------------------------------------------
    def apply(
        self,
        rec: ProxyRecord,
        outcome: Outcome,
        domain: str | None = None,
        latency: float | None = None,
        now: float = 0.0,
    ) -> float:
        """A crawler's report about one use of the proxy; returns the seconds it is benched
        for by this outcome (0 if not): overall after a failure, for ``domain`` after a ban."""
        if outcome is Outcome.SUCCESS:
            rec.successes += 1
            rec.fail_streak = 0
            rec.benched_until = 0.0
            rec.score = _clamp(rec.score + self.success_gain)
            if rec.alive is None:
                rec.alive = True
            if domain:
                rec.domain_scores[domain] = _clamp(
                    rec.domain_scores.get(domain, INITIAL_SCORE) + self.success_gain
                )
                rec.domain_bans.pop(domain, None)
                rec.domain_benched_until.pop(domain, None)
            if latency is not None:
                rec.latency = _smooth(rec.latency, latency)
            return 0.0
        elif outcome is Outcome.FAILURE:
            rec.failures += 1
            rec.fail_streak += 1
            rec.score = _clamp(rec.score - self.failure_loss)
            if domain:
                rec.domain_scores[domain] = _clamp(
                    rec.domain_scores.get(domain, INITIAL_SCORE) - self.failure_loss
                )
            rec.benched_until = now + self.bench_seconds(rec.fail_streak)
            return rec.benched_until - now
        rec.bans += 1
        rec.score = _clamp(rec.score - self.ban_overall_loss)
        if not domain:
            rec.score = _clamp(rec.score - self.ban_loss + self.ban_overall_loss)
            return 0.0
        rec.domain_scores[domain] = _clamp(
            rec.domain_scores.get(domain, INITIAL_SCORE) - self.ban_loss
        )
        streak = rec.domain_bans[domain] = rec.domain_bans.get(domain, 0) + 1
        seconds = min(self.bench_max, self.ban_bench_base * 2 ** (streak - 1))
        rec.domain_benched_until[domain] = now + seconds
        return seconds

    def apply_check(
        self,
        rec: ProxyRecord,
        *,
        alive: bool,
        latency: float | None,
        anonymity: Anonymity | None,
        https: bool | None,
        error: str = "",
        targets: Mapping[str, bool] | None = None,
        now: float = 0.0,
    ) -> None:
        """The validator's verdict on one proxy; also schedules its next check."""
        rec.checks += 1
        rec.checked_at = now
        rec.last_error = error
        if alive:
            rec.alive = True
            rec.fail_streak = 0
            rec.benched_until = 0.0
            rec.score = _clamp(max(rec.score, INITIAL_SCORE) + self.check_gain)
            rec.latency = _smooth(rec.latency, latency) if latency is not None else rec.latency
            if anonymity is not None:
                rec.anonymity = anonymity
            if https is not None:
                rec.https = https
        else:
            rec.alive = False
            rec.fail_streak += 1
            rec.score = _clamp(rec.score - self.failure_loss)
            rec.benched_until = now + self.bench_seconds(rec.fail_streak)
        for domain, passed in (targets or {}).items():
            current = rec.domain_scores.get(domain, INITIAL_SCORE)
            if passed:
                rec.domain_scores[domain] = _clamp(
                    max(current, INITIAL_SCORE) + 2 * self.check_gain
                )
            else:
                rec.domain_scores[domain] = _clamp(current - self.ban_loss)
        rec.next_check_at = now + self.recheck_seconds(rec)

    def bench_seconds(self, streak: int) -> float:
        return min(self.bench_max, self.bench_base * 2 ** max(0, streak - 1))

    def recheck_seconds(self, rec: ProxyRecord) -> float:
        """Healthy proxies every ``recheck_good``; failing ones less and less often."""
        if rec.fail_streak == 0 and rec.alive:
            # the better the proxy, the more it is worth keeping an eye on; never below a floor
            return self.recheck_good
        return min(self.recheck_max, self.recheck_base * 2 ** max(0, rec.fail_streak - 1))

    def is_dead(self, rec: ProxyRecord) -> bool:
        return rec.fail_streak >= self.max_failures

    # -- selection ------------------------------------------------------------------------
    def rank(self, rec: ProxyRecord, domain: str | None = None) -> float:
        """Higher is better: the domain's score when it has one, else the overall score,
        less a latency penalty, plus a little for anonymity."""
        base = rec.score
        dscore = rec.domain_score(domain)
        if dscore is not None:
            base = 0.7 * dscore + 0.3 * rec.score
        if rec.latency is not None:
            base -= self.latency_weight * min(rec.latency, 5.0)
        if rec.anonymity is not None:
            base += self.anonymity_bonus * (int(rec.anonymity) - 1)
        return base

    def order(
        self,
        records: Iterable[ProxyRecord],
        domain: str | None,
        now: float,
        filters: Filters | None = None,
        proven_only: bool = False,
    ) -> list[ProxyRecord]:
        """Usable records for ``domain``, best first."""
        filters = filters or Filters()
        usable = [
            r
            for r in records
            if r.usable_for(domain, now)
            and filters.accepts(r)
            and (not proven_only or (domain is not None and r.proven(domain)))
        ]
        usable.sort(key=lambda r: self.rank(r, domain), reverse=True)
        return usable

    def pick(
        self,
        ordered: list[ProxyRecord],
        domain: str | None = None,
        rng: random.Random | None = None,
    ) -> ProxyRecord | None:
        """One of the best ``pick_top``, weighted by rank, so load spreads over the best."""
        if not ordered:
            return None
        top = ordered[: max(1, self.pick_top)]
        rng = rng or random
        ranks = [self.rank(r, domain) for r in top]
        lowest = min(ranks)
        weights = [rank - lowest + 1.0 for rank in ranks]
        return rng.choices(top, weights=weights, k=1)[0]


def _clamp(value: float) -> float:
    return max(MIN_SCORE, min(MAX_SCORE, value))


def _smooth(previous: float | None, sample: float, alpha: float = 0.5) -> float:
    if previous is None or math.isnan(previous):
        return sample
    return alpha * sample + (1 - alpha) * previous
