"""Seen-URL state of incremental crawls: when each page of a rule was last fetched, kept
between runs. In an SQLite file on one machine, in a Redis hash when the crawl is distributed.

Keys are SHA-1 digests of the canonical URL, so ``?b=2&a=1`` and ``?a=1&b=2`` are one page.

>>> state = SqliteSeenState(":memory:", "books")
>>> state.last_fetched("http://x/1"), state.mark("http://x/1", 1000.0), state.last_fetched("http://x/1")
(None, None, 1000.0)
"""

from __future__ import annotations

import hashlib
import sqlite3
from abc import ABC, abstractmethod
from pathlib import Path

from w3lib.url import canonicalize_url


def url_key(url: str) -> str:
    return hashlib.sha1(canonicalize_url(url).encode()).hexdigest()


class SeenState(ABC):
    @abstractmethod
    def last_fetched(self, url: str) -> float | None:
        """Unix time the page was last fetched by any run of the rule, or None."""

    @abstractmethod
    def mark(self, url: str, when: float) -> None:
        """Record a fetch (writes may be buffered until :meth:`flush`)."""

    def flush(self) -> None:  # noqa: B027 - backends without buffering need nothing
        """Write buffered marks."""

    def close(self) -> None:
        self.flush()


class SqliteSeenState(SeenState):
    """One table ``seen(rule, url_key, fetched_at)``; marks are written in batches."""

    BATCH = 200

    def __init__(self, path: str | Path, rule: str, share: SqliteSeenState | None = None) -> None:
        """``share``: another rule's state whose connection this one uses (the sites of one
        crawl of many: one connection, not a thousand); the first one closes it."""
        self.owner = share is None
        if share is not None:
            self.conn = share.conn
        else:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Several crawls of other rules may share the file; wait for their writes.
            self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS seen (rule TEXT NOT NULL, url_key TEXT NOT NULL, "
                "fetched_at REAL NOT NULL, PRIMARY KEY (rule, url_key))"
            )
        self.rule = rule
        self.pending: dict[str, float] = {}

    def last_fetched(self, url: str) -> float | None:
        key = url_key(url)
        if key in self.pending:
            return self.pending[key]
        row = self.conn.execute(
            "SELECT fetched_at FROM seen WHERE rule = ? AND url_key = ?", (self.rule, key)
        ).fetchone()
        return row[0] if row else None

    def mark(self, url: str, when: float) -> None:
        self.pending[url_key(url)] = when
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows = [(self.rule, key, when) for key, when in self.pending.items()]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?, ?)", rows)
        self.pending.clear()

    def close(self) -> None:
        self.flush()
        if self.owner:
            self.conn.close()


class RedisSeenState(SeenState):
    """A hash ``<rule>:seen`` (url key -> unix time) shared by all workers of the rule."""

    def __init__(self, server, key: str) -> None:
        self.server = server
        self.key = key

    def last_fetched(self, url: str) -> float | None:
        value = self.server.hget(self.key, url_key(url))
        return float(value) if value is not None else None

    def mark(self, url: str, when: float) -> None:
        self.server.hset(self.key, url_key(url), repr(when))
