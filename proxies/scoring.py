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

import json
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from proxies.model import Anonymity, Outcome, Proxy

INITIAL_SCORE = 10.0
MAX_SCORE = 100.0
MIN_SCORE = 0.0


@dataclass
class ProxyRecord:
    """One proxy and its health. Mutable: stores load, update and save it."""

    proxy: Proxy
    score: float = INITIAL_SCORE
    domain_scores: dict[str, float] = field(default_factory=dict)
    latency: float | None = None  # seconds, smoothed
    anonymity: Anonymity | None = None
    https: bool | None = None
    alive: bool | None = None  # None: never checked
    fail_streak: int = 0
    checks: int = 0
    successes: int = 0
    failures: int = 0
    bans: int = 0
    added_at: float = 0.0
    checked_at: float | None = None
    next_check_at: float = 0.0
    benched_until: float = 0.0
    domain_bans: dict[str, int] = field(default_factory=dict)  # bans in a row, per domain
    domain_benched_until: dict[str, float] = field(default_factory=dict)
    last_error: str = ""

    @property
    def key(self) -> str:
        return self.proxy.key

    def domain_score(self, domain: str | None) -> float | None:
        return self.domain_scores.get(domain) if domain else None

    def proven(self, domain: str) -> bool:
        """Has this proxy shown, on ``domain`` itself, that it gets through?"""
        return self.domain_scores.get(domain, MIN_SCORE) > INITIAL_SCORE

    def usable(self, now: float) -> bool:
        """Alive, not benched, score above zero. An unchecked proxy is served only if paid
        (a paid list is trusted until it fails); free ones wait for the validator."""
        checked_ok = self.alive is True or (self.alive is None and self.proxy.paid)
        return checked_ok and self.benched_until <= now and self.score > MIN_SCORE

    def usable_for(self, domain: str | None, now: float) -> bool:
        """Usable, and not benched by ``domain`` after a ban there."""
        if not self.usable(now):
            return False
        return not domain or self.domain_benched_until.get(domain, 0.0) <= now

    # -- serialisation (credentials included: only stores call these) --------------------
    def to_dict(self) -> dict[str, Any]:
        p = self.proxy
        return {
            "host": p.host,
            "port": p.port,
            "scheme": p.scheme,
            "username": p.username,
            "password": p.password,
            "source": p.source,
            "paid": p.paid,
            "score": self.score,
            "domain_scores": self.domain_scores,
            "latency": self.latency,
            "anonymity": self.anonymity.label if self.anonymity else None,
            "https": self.https,
            "alive": self.alive,
            "fail_streak": self.fail_streak,
            "checks": self.checks,
            "successes": self.successes,
            "failures": self.failures,
            "bans": self.bans,
            "added_at": self.added_at,
            "checked_at": self.checked_at,
            "next_check_at": self.next_check_at,
            "benched_until": self.benched_until,
            "domain_bans": self.domain_bans,
            "domain_benched_until": self.domain_benched_until,
            "last_error": self.last_error,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProxyRecord:
        proxy = Proxy(
            host=d["host"],
            port=int(d["port"]),
            scheme=d.get("scheme") or "http",
            username=d.get("username"),
            password=d.get("password"),
            source=d.get("source") or "",
            paid=bool(d.get("paid")),
        )
        anon = d.get("anonymity")
        return cls(
            proxy=proxy,
            score=float(d.get("score", INITIAL_SCORE)),
            domain_scores={k: float(v) for k, v in (d.get("domain_scores") or {}).items()},
            latency=d.get("latency"),
            anonymity=Anonymity.parse(anon) if anon else None,
            https=d.get("https"),
            alive=d.get("alive"),
            fail_streak=int(d.get("fail_streak", 0)),
            checks=int(d.get("checks", 0)),
            successes=int(d.get("successes", 0)),
            failures=int(d.get("failures", 0)),
            bans=int(d.get("bans", 0)),
            added_at=float(d.get("added_at", 0.0)),
            checked_at=d.get("checked_at"),
            next_check_at=float(d.get("next_check_at", 0.0)),
            benched_until=float(d.get("benched_until", 0.0)),
            domain_bans={k: int(v) for k, v in (d.get("domain_bans") or {}).items()},
            domain_benched_until={
                k: float(v) for k, v in (d.get("domain_benched_until") or {}).items()
            },
            last_error=d.get("last_error") or "",
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ProxyRecord:
        return cls.from_dict(json.loads(text))

    def public_dict(self) -> dict[str, Any]:
        """What an API or a listing may show: the label, never credentials."""
        return {
            "proxy": self.proxy.label,
            "key": self.proxy.key,
            "source": self.proxy.source,
            "paid": self.proxy.paid,
            "score": round(self.score, 2),
            "domain_scores": {k: round(v, 2) for k, v in self.domain_scores.items()},
            "latency": None if self.latency is None else round(self.latency, 4),
            "anonymity": self.anonymity.label if self.anonymity else None,
            "https": self.https,
            "alive": self.alive,
            "fail_streak": self.fail_streak,
            "checks": self.checks,
            "successes": self.successes,
            "failures": self.failures,
            "bans": self.bans,
            "checked_at": self.checked_at,
            "next_check_at": self.next_check_at,
            "last_error": self.last_error,
        }


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
        def num(name: str, default: float) -> float:
            value = settings.get(name)
            return default if value is None else float(value)

        return cls(
            max_failures=int(num("PROXY_POOL_MAX_FAILURES", cls.max_failures)),
            bench_base=num("PROXY_POOL_BENCH_BASE", cls.bench_base),
            bench_max=num("PROXY_POOL_BENCH_MAX", cls.bench_max),
            ban_bench_base=num("PROXY_POOL_BAN_BENCH_BASE", cls.ban_bench_base),
            recheck_good=num("PROXY_POOL_RECHECK_GOOD", cls.recheck_good),
            recheck_base=num("PROXY_POOL_RECHECK_BASE", cls.recheck_base),
            recheck_max=num("PROXY_POOL_RECHECK_MAX", cls.recheck_max),
            pick_top=int(num("PROXY_POOL_PICK_TOP", cls.pick_top)),
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
