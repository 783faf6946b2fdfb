"""What the pool knows about one proxy: :class:`ProxyRecord`, and how it is serialised.

Stores load, change and save records; :class:`proxies.scoring.ScoringPolicy` decides how
outcomes change them. Records carry credentials (the downloader needs them): ``to_dict`` and
``to_json`` are for stores only; ``public_dict`` is what a listing or an API may show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from proxies.model import Anonymity, Proxy

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
        return orjson.dumps(self.to_dict()).decode()

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
        return cls.from_dict(orjson.loads(text))

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
