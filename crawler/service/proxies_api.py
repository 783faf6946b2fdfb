"""Proxies API: the pool's health now (counts by state, per source, latency distribution),
per-domain success from recent crawls, and its history, sampled by the service.

The pool is the one the crawls use (``PROXY_POOL_STORE``). It counts as configured when its
store exists: a Redis URL, or an SQLite file already written by the pool. Per-domain success
comes from the run records (``antiban/proxy/...`` stats of crawls through the pool), since the
pool itself keeps scores per domain, not requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from crawler.service.access import read_access
from crawler.service.gate import GatedRoute

router = APIRouter(
    prefix="/api/proxies",
    tags=["proxies"],
    dependencies=[Depends(read_access)],
    route_class=GatedRoute,
)

LATENCY_BUCKETS_MS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
HISTORY_FILE = "proxy-history.jsonl"


def pool_configured(settings: Any) -> bool:
    uri = str(settings.get("PROXY_POOL_STORE") or "")
    scheme = uri.split(":", 1)[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        return True
    if scheme == "sqlite":
        path = uri[len("sqlite://") :].lstrip("/")
        return Path("/" + path if uri.startswith("sqlite:////") else path).is_file()
    return False


def pool_records(settings: Any) -> list[Any]:
    from proxies.pool_store import open_pool_store

    store = open_pool_store(settings)
    try:
        return store.all()
    finally:
        store.close()


def percentile(sorted_values: list[float], share: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, int(round(share * (len(sorted_values) - 1))))
    return sorted_values[index]


def latency(records: Iterable[Any]) -> dict[str, Any]:
    values = sorted(r.latency * 1000 for r in records if r.alive and r.latency is not None)
    histogram = [[upper, 0] for upper in LATENCY_BUCKETS_MS] + [[None, 0]]
    for value in values:
        for bucket in histogram:
            if bucket[0] is None or value <= bucket[0]:
                bucket[1] += 1
                break
    return {
        "p50": percentile(values, 0.5),
        "p90": percentile(values, 0.9),
        "p99": percentile(values, 0.99),
        "histogram": histogram,
    }


def state_of(record: Any, now: float) -> str:
    if record.alive is None:
        return "unchecked"
    if not record.alive:
        return "dead"
    return "benched" if record.benched_until > now else "alive"


def by_source(records: Iterable[Any]) -> list[dict[str, Any]]:
    sources: dict[str, dict[str, Any]] = {}
    for r in records:
        s = sources.setdefault(
            r.proxy.source or "-", {"total": 0, "alive": 0, "successes": 0, "tries": 0}
        )
        s["total"] += 1
        s["alive"] += r.alive is True
        s["successes"] += r.successes
        s["tries"] += r.successes + r.failures
    return [
        {
            "source": name,
            "total": s["total"],
            "alive": s["alive"],
            "success_rate": s["successes"] / s["tries"] if s["tries"] else None,
        }
        for name, s in sorted(sources.items())
    ]


def by_domain(runs: Iterable[dict[str, Any]], domain_of: Any) -> list[dict[str, Any]]:
    """Per target domain, over recent crawls: requests through the pool and the share that
    succeeded (``antiban/proxy/<label>/success`` over ``antiban/proxy/requests``).
    ``domain_of(rule)`` names a rule's domain."""
    domains: dict[str, list[int]] = {}
    for run in runs:
        stats = run.get("stats") if isinstance(run.get("stats"), dict) else {}
        requests = stats.get("antiban/proxy/requests") or 0
        if not isinstance(requests, int) or not requests:
            continue
        successes = sum(
            v
            for k, v in stats.items()
            if k.startswith("antiban/proxy/") and k.endswith("/success") and isinstance(v, int)
        )
        domain = domain_of(run.get("rule")) or str(run.get("rule") or "-")
        totals = domains.setdefault(domain, [0, 0])
        totals[0] += requests
        totals[1] += successes
    return [
        {"domain": d, "requests": t[0], "success_rate": min(1.0, t[1] / t[0])}
        for d, t in sorted(domains.items())
    ]


def rule_domains(settings: Any) -> Any:
    """``domain_of(rule name)``: the rule's allowed domain, else its first start host."""
    from crawler.spider import default_start_hosts, project_rules

    rules = project_rules(settings).rules

    def domain_of(name: Any) -> str | None:
        rule = rules.get(name) if isinstance(name, str) else None
        if rule is None:
            return None
        hosts = list(rule.allowed_domains) or default_start_hosts(rule)
        return hosts[0] if hosts else None

    return domain_of


def summary(
    records: list[Any], runs: Iterable[dict[str, Any]], domain_of: Any, now: float
) -> dict[str, Any]:
    states: dict[str, int] = {}
    for r in records:
        state = state_of(r, now)
        states[state] = states.get(state, 0) + 1
    return {
        "total": len(records),
        "alive": sum(1 for r in records if r.alive),
        "dead": sum(1 for r in records if r.alive is False),
        "by_state": dict(sorted(states.items())),
        "by_source": by_source(records),
        "by_domain": by_domain(runs, domain_of),
        "latency": latency(records),
    }


@router.get("/summary")
def proxies_summary(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    if not pool_configured(settings):
        raise HTTPException(404, "no proxy pool configured")
    runs = request.app.state.stores.get().runs(limit=request.app.state.config.proxy_runs)
    return summary(pool_records(settings), runs, rule_domains(settings), time.time())


@router.get("/history")
def proxies_history(request: Request, hours: float = 24) -> dict[str, Any]:
    if not 0 < hours <= 24 * 366:
        raise HTTPException(422, "hours must be between 0 and 8784")
    if not pool_configured(request.app.state.settings):
        raise HTTPException(404, "no proxy pool configured")
    since = time.time() - hours * 3600
    return {"items": [p for p in request.app.state.sampler.points() if p["t"] >= since]}


class PoolSampler:
    """Samples the pool's counts every ``SERVICE_PROXY_SAMPLE_INTERVAL`` seconds into a JSON
    Lines file under ``SERVICE_DATA_DIR``, keeping ``SERVICE_PROXY_HISTORY_DAYS``."""

    def __init__(self, settings: Any, data_dir: Path, interval: float, keep_days: float):
        self.settings = settings
        self.path = data_dir / HISTORY_FILE
        self.interval = interval
        self.keep = keep_days * 86400
        self.lock = threading.Lock()

    def sample(self, now: float | None = None) -> dict[str, Any] | None:
        if not pool_configured(self.settings):
            return None
        now = time.time() if now is None else now
        records = pool_records(self.settings)
        point = {
            "t": now,
            "total": len(records),
            "alive": sum(1 for r in records if r.alive),
            "dead": sum(1 for r in records if r.alive is False),
        }
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept = [p for p in self._read() if p["t"] >= now - self.keep]
            kept.append(point)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(p) + "\n" for p in kept), encoding="utf-8")
            tmp.replace(self.path)
        return point

    def _read(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        points = []
        for line in lines:
            try:
                point = json.loads(line)
            except ValueError:
                continue
            if isinstance(point, dict) and isinstance(point.get("t"), int | float):
                points.append(point)
        return points

    def points(self) -> list[dict[str, Any]]:
        with self.lock:
            return self._read()
