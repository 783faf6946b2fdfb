"""Where proxy records live: one interface, an embedded store and (in redis_pool_store) a Redis store.

The embedded store keeps every record in memory and persists it to SQLite (write-behind, at
most every ``flush_interval`` seconds, and on ``close``), for one machine. The Redis store
shares the same records between many crawl processes on many machines. ``open_pool_store`` picks
one from the ``PROXY_POOL_STORE`` setting (``sqlite:///path/to/proxies.db``, ``memory:`` or
``redis://host:port/db``) by its URI scheme, through ``PROXY_POOL_STORES`` (scheme -> class
path, as Scrapy's ``FEED_STORAGES``); every store class has ``from_uri(uri, settings)``.

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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from proxies.model import Proxy, mask_url
from proxies.proxy_keys import configure_keys
from proxies.scoring import Filters, ProxyRecord, ScoringPolicy
from proxies.settings import PoolSettings, load_object


class StoreError(Exception):
    """A store cannot be opened or written; the message says what failed and what to do."""


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

    def update_many(
        self, changes: Mapping[str, Callable[[ProxyRecord], None]]
    ) -> dict[str, ProxyRecord | None]:
        """``update`` for many records in one batch; per key the record, or None if unknown."""

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
        try:
            self._open(path, flush_interval, reload_interval)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open the proxy store {path}: {_reason(exc)} (check the path and its "
                "permissions, or set PROXY_POOL_STORE)"
            ) from None

    @classmethod
    def from_uri(cls, uri: str, settings: Any = None) -> EmbeddedStore:
        """``sqlite:///path`` (persisted) or ``memory:`` (this process only)."""
        s = PoolSettings.wrap(settings)
        if uri.startswith("memory:"):
            path = None
        elif uri.startswith("sqlite:///") and len(uri) > len("sqlite:///"):
            path = uri[len("sqlite:///") :]
        else:
            raise StoreError(
                f"PROXY_POOL_STORE {mask_url(uri)!r}: use sqlite:///path/to/proxies.db"
            )
        return cls(
            path,
            flush_interval=s.getfloat("PROXY_POOL_FLUSH_INTERVAL"),
            reload_interval=s.getfloat("PROXY_POOL_RELOAD_INTERVAL"),
        )

    def _open(
        self, path: str | os.PathLike[str] | None, flush_interval: float, reload_interval: float
    ) -> None:
        self.path = Path(path) if path else None
        self.flush_interval = flush_interval
        # another process on this machine (`scrapy proxies serve`, `check`) writes the same file:
        # its checks reach a running crawl within reload_interval seconds
        self.reload_interval = reload_interval
        self._last_reload = time.monotonic()
        self._records: dict[str, ProxyRecord] = {}
        # keys to write, in the order they changed (a dict as an ordered set): new proxies reach
        # the file in the order their sources listed them, and are read back in that order
        self._dirty: dict[str, None] = {}
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
            rows = self._db.execute("SELECT key, data FROM proxies ORDER BY rowid").fetchall()
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
                self._dirty[proxy.key] = None
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
                self._dirty[rec.key] = None
                self._removed.discard(rec.key)
            self._maybe_flush()

    def update(self, key: str, change: Callable[[ProxyRecord], None]) -> ProxyRecord | None:
        with self._lock:
            rec = self._records.get(key)
            if rec is None:
                return None
            change(rec)
            self._dirty[key] = None
            self._maybe_flush()
            return rec

    def update_many(
        self, changes: Mapping[str, Callable[[ProxyRecord], None]]
    ) -> dict[str, ProxyRecord | None]:
        with self._lock:
            out: dict[str, ProxyRecord | None] = {}
            for key, change in changes.items():
                rec = self._records.get(key)
                if rec is not None:
                    change(rec)
                    self._dirty[key] = None
                out[key] = rec
            self._maybe_flush()
            return out

    def remove(self, keys: Iterable[str]) -> int:
        removed = 0
        with self._lock:
            for key in keys:
                if self._records.pop(key, None) is not None:
                    removed += 1
                    self._dirty.pop(key, None)
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
        try:
            self._write()
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot write the proxy store {self.path}: {_reason(exc)} (is the disk full, "
                "or the file read-only?)"
            ) from None

    def _write(self) -> None:
        assert self._db is not None
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


def open_pool_store(settings: Any) -> ProxyStore:
    """The store named by ``PROXY_POOL_STORE``, its class found by the URI's scheme in
    ``PROXY_POOL_STORES``. Settles the proxy key secret first (keys persist in stores)."""
    s = PoolSettings.wrap(settings)
    configure_keys(s)
    return store_from_uri(s.get("PROXY_POOL_STORE"), s)


def store_from_uri(uri: str, settings: Any = None) -> ProxyStore:
    s = PoolSettings.wrap(settings)
    scheme = str(uri).split(":", 1)[0].lower() if ":" in str(uri) else ""
    stores = s.getdict("PROXY_POOL_STORES")
    if scheme not in stores:
        raise StoreError(
            f"PROXY_POOL_STORE {mask_url(str(uri))!r} is not understood: use one of "
            f"{', '.join(f'{k}:' for k in stores)} (sqlite:///path/to/proxies.db, memory:, "
            "redis://host:port/db), or add its scheme to PROXY_POOL_STORES"
        )
    return load_object(stores[scheme]).from_uri(str(uri), s)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


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
