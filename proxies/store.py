"""Where proxy records live: one interface, an embedded store and (in redis_store) a Redis store.

The embedded store keeps every record in memory and persists it to SQLite (write-behind, at
most every ``flush_interval`` seconds, and on ``close``), for one machine. The Redis store
shares the same records between many crawl processes on many machines. ``open_store`` picks
one from the ``PROXY_POOL_STORE`` setting: ``sqlite:///path/to/proxies.db``, ``memory:`` or
``redis://host:port/db``.

>>> from proxies.model import Proxy
>>> store = EmbeddedStore(None)
>>> store.add([Proxy.parse("10.0.0.1:8080", source="demo")], now=0.0)
1
>>> store.count()
1
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from proxies.model import Proxy
from proxies.scoring import Filters, ProxyRecord, ScoringPolicy

DEFAULT_STORE = "sqlite:///data/proxies.db"


class ProxyStore(Protocol):
    """What every store offers. Records carry credentials: only pools and commands see them."""

    def add(self, proxies: Iterable[Proxy], now: float | None = None) -> int:
        """Add proxies not yet known (known ones keep their history); return how many were new."""

    def get(self, key: str) -> ProxyRecord | None: ...

    def all(self) -> list[ProxyRecord]: ...

    def save(self, records: Iterable[ProxyRecord]) -> None:
        """Write records as they are (after a check, say)."""

    def update(self, key: str, change: Callable[[ProxyRecord], None]) -> ProxyRecord | None:
        """Apply ``change`` to one record atomically (read, change, write); None if unknown."""

    def remove(self, keys: Iterable[str]) -> int: ...

    def ranked(
        self,
        policy: ScoringPolicy,
        domain: str | None,
        now: float,
        filters: Filters | None = None,
        proven_only: bool = False,
    ) -> list[ProxyRecord]:
        """Usable records for ``domain``, best first."""

    def due(self, now: float, limit: int | None = None) -> list[ProxyRecord]:
        """Records whose next check is due, the longest overdue first."""

    def count(self) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class EmbeddedStore:
    """In-process records, persisted to SQLite (``path=None``: memory only)."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        flush_interval: float = 2.0,
        reload_interval: float = 30.0,
    ) -> None:
        self.path = Path(path) if path else None
        self.flush_interval = flush_interval
        # another process on this machine (`scrapy proxies serve`, `check`) writes the same file:
        # its checks reach a running crawl within reload_interval seconds
        self.reload_interval = reload_interval
        self._last_reload = time.monotonic()
        self._records: dict[str, ProxyRecord] = {}
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        self._lock = threading.RLock()
        self._last_flush = time.monotonic()
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS proxies (key TEXT PRIMARY KEY, data TEXT NOT NULL)"
            )
            self._db.commit()
            self.reload()

    def reload(self) -> None:
        """Read every record from SQLite (what another process on this machine saved)."""
        if self._db is None:
            return
        with self._lock:
            self.flush()
            rows = self._db.execute("SELECT key, data FROM proxies").fetchall()
            self._records = {key: ProxyRecord.from_json(data) for key, data in rows}
            self._last_reload = time.monotonic()

    def _maybe_reload(self) -> None:
        if self._db is not None and time.monotonic() - self._last_reload >= self.reload_interval:
            self.reload()

    def add(self, proxies: Iterable[Proxy], now: float | None = None) -> int:
        now = time.time() if now is None else now
        added = 0
        with self._lock:
            for proxy in proxies:
                if proxy.key in self._records:
                    continue
                self._records[proxy.key] = ProxyRecord(proxy, added_at=now, next_check_at=now)
                self._dirty.add(proxy.key)
                self._removed.discard(proxy.key)
                added += 1
            self._maybe_flush()
        return added

    def get(self, key: str) -> ProxyRecord | None:
        with self._lock:
            return self._records.get(key)

    def all(self) -> list[ProxyRecord]:
        with self._lock:
            return list(self._records.values())

    def save(self, records: Iterable[ProxyRecord]) -> None:
        with self._lock:
            for rec in records:
                self._records[rec.key] = rec
                self._dirty.add(rec.key)
                self._removed.discard(rec.key)
            self._maybe_flush()

    def update(self, key: str, change: Callable[[ProxyRecord], None]) -> ProxyRecord | None:
        with self._lock:
            rec = self._records.get(key)
            if rec is None:
                return None
            change(rec)
            self._dirty.add(key)
            self._maybe_flush()
            return rec

    def remove(self, keys: Iterable[str]) -> int:
        removed = 0
        with self._lock:
            for key in keys:
                if self._records.pop(key, None) is not None:
                    removed += 1
                    self._dirty.discard(key)
                    self._removed.add(key)
            self._maybe_flush()
        return removed

    def ranked(
        self,
        policy: ScoringPolicy,
        domain: str | None,
        now: float,
        filters: Filters | None = None,
        proven_only: bool = False,
    ) -> list[ProxyRecord]:
        with self._lock:
            self._maybe_reload()
            records = list(self._records.values())
        return policy.order(records, domain, now, filters, proven_only)

    def due(self, now: float, limit: int | None = None) -> list[ProxyRecord]:
        with self._lock:
            due = [r for r in self._records.values() if r.next_check_at <= now]
        due.sort(key=lambda r: r.next_check_at)
        return due if limit is None else due[:limit]

    def count(self) -> int:
        with self._lock:
            return len(self._records)

    def _maybe_flush(self) -> None:
        if self._db is not None and time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        if self._db is None:
            return
        with self._lock:
            rows = [(k, self._records[k].to_json()) for k in self._dirty if k in self._records]
            gone = [(k,) for k in self._removed]
            if rows:
                self._db.executemany(
                    "INSERT INTO proxies (key, data) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET data = excluded.data",
                    rows,
                )
            if gone:
                self._db.executemany("DELETE FROM proxies WHERE key = ?", gone)
            self._db.commit()
            self._dirty.clear()
            self._removed.clear()
            self._last_flush = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self.flush()
            if self._db is not None:
                self._db.close()
                self._db = None


def open_store(settings: Any) -> ProxyStore:
    """The store named by ``PROXY_POOL_STORE`` (``sqlite:///…``, ``memory:``, ``redis://…``)."""
    uri = settings.get("PROXY_POOL_STORE") or DEFAULT_STORE
    return store_from_uri(uri, prefix=settings.get("PROXY_POOL_REDIS_PREFIX") or "proxypool")


def store_from_uri(uri: str, prefix: str = "proxypool") -> ProxyStore:
    if uri in ("memory:", "memory://"):
        return EmbeddedStore(None)
    if uri.startswith("sqlite:///"):
        return EmbeddedStore(uri[len("sqlite:///") :])
    if uri.startswith(("redis://", "rediss://", "unix://")):
        from proxies.redis_store import RedisStore

        return RedisStore.from_url(uri, prefix=prefix)
    from proxies.model import mask_url

    raise ValueError(
        f"PROXY_POOL_STORE {mask_url(uri)!r} is not understood: "
        "use sqlite:///path/to/proxies.db, memory: or redis://host:port/db"
    )


def source_stats(records: Iterable[ProxyRecord]) -> dict[str, dict[str, int]]:
    """Per source: how many proxies, how many alive, how many paid. A source with
    ``alive == 0`` after checks yields nothing usable and can be dropped."""
    out: dict[str, dict[str, int]] = {}
    for rec in records:
        s = out.setdefault(
            rec.proxy.source or "-", {"total": 0, "alive": 0, "checked": 0, "paid": 0}
        )
        s["total"] += 1
        s["alive"] += rec.alive is True
        s["checked"] += rec.checked_at is not None
        s["paid"] += rec.proxy.paid
    return dict(sorted(out.items()))


def summary(records: list[ProxyRecord], now: float | None = None) -> dict[str, Any]:
    """Counts for ``scrapy proxies stats`` and the API."""
    now = time.time() if now is None else now
    alive = [r for r in records if r.alive]
    anon: dict[str, int] = {}
    for r in alive:
        name = r.anonymity.label if r.anonymity else "unknown"
        anon[name] = anon.get(name, 0) + 1
    latencies = sorted(r.latency for r in alive if r.latency is not None)
    return {
        "total": len(records),
        "alive": len(alive),
        "dead": sum(1 for r in records if r.alive is False),
        "unchecked": sum(1 for r in records if r.alive is None),
        "usable_now": sum(1 for r in records if r.usable(now)),
        "https": sum(1 for r in alive if r.https),
        "paid": sum(1 for r in records if r.proxy.paid),
        "anonymity": dict(sorted(anon.items())),
        "median_latency": latencies[len(latencies) // 2] if latencies else None,
        "sources": source_stats(records),
    }


def dumps_public(records: Iterable[ProxyRecord]) -> str:
    return json.dumps([r.public_dict() for r in records], indent=2)
