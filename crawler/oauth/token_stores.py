"""Where tokens live, shared by every crawl process: SQLite on one machine, Redis when the crawl
is distributed (:mod:`crawler.oauth.redis_token_store`). Stores are chosen by URI scheme through
``OAUTH_TOKEN_STORES`` (as Scrapy's ``FEED_STORAGES``).

A token is kept under ``provider/credential``. :meth:`SqliteTokenStore.exclusive` is the one
way to change one: inside it, no other process changes that token, so one process refreshes it
while the others wait and then read its result. On SQLite that is a write transaction (``BEGIN
IMMEDIATE``; waiters wait up to the lock timeout); on Redis a ``SET NX`` lock with an expiry.

>>> import tempfile, os
>>> store = SqliteTokenStore(os.path.join(tempfile.mkdtemp(), "t.db"))
>>> with store.exclusive("p/c") as tx:
...     tx.get() is None
...     tx.put(Token("at-1234", expires_at=10.0))
True
>>> store.get("p/c").expires_at, [k for k, _ in store.items()]
(10.0, ['p/c'])
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from crawler.oauth.source_tokens import Token

SCHEMA = """CREATE TABLE IF NOT EXISTS oauth_tokens (
    key TEXT PRIMARY KEY, token TEXT NOT NULL, updated_at REAL NOT NULL)"""


def token_key(provider: str, credential: str) -> str:
    return f"{provider}/{credential}"


class Exclusive(Protocol):
    """One token, held exclusively: read it, write its successor."""

    def get(self) -> Token | None: ...

    def put(self, token: Token) -> None: ...


class TokenStore(Protocol):
    display_uri: str

    def get(self, key: str) -> Token | None: ...

    def items(self) -> list[tuple[str, Token]]: ...

    def delete(self, key: str) -> bool: ...

    def exclusive(self, key: str) -> contextlib.AbstractContextManager[Exclusive]: ...

    def close(self) -> None: ...


class LockTimeout(RuntimeError):
    """Another process held a token's lock longer than the lock timeout."""


class _SqliteExclusive:
    def __init__(self, db: sqlite3.Connection, key: str) -> None:
        self.db = db
        self.key = key

    def get(self) -> Token | None:
        row = self.db.execute(
            "SELECT token FROM oauth_tokens WHERE key = ?", (self.key,)
        ).fetchone()
        return Token.from_json(row[0]) if row else None

    def put(self, token: Token) -> None:
        self.db.execute(
            "INSERT INTO oauth_tokens (key, token, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at",
            (self.key, token.to_json(), time.time()),
        )


class SqliteTokenStore:
    """Tokens in one SQLite file (created readable by its owner only)."""

    def __init__(self, path: str | Path, *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.display_uri = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        with contextlib.closing(self._connect()) as db:
            db.execute(SCHEMA)

    @classmethod
    def from_uri(cls, uri: str, *, lock_timeout: float, **_: object) -> SqliteTokenStore:
        scheme = urlsplit(uri).scheme
        path = uri[len(f"{scheme}:///") :] if uri.startswith(f"{scheme}:///") else ""
        if not path:
            raise ValueError(f"no file in token store URI {uri!r} (sqlite:///path/to/oauth.db)")
        return cls(path, lock_timeout=lock_timeout)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE below).
        return sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)

    def get(self, key: str) -> Token | None:
        with contextlib.closing(self._connect()) as db:
            return _SqliteExclusive(db, key).get()

    def items(self) -> list[tuple[str, Token]]:
        with contextlib.closing(self._connect()) as db:
            rows = db.execute("SELECT key, token FROM oauth_tokens ORDER BY key").fetchall()
        return [(key, Token.from_json(text)) for key, text in rows]

    def delete(self, key: str) -> bool:
        with contextlib.closing(self._connect()) as db:
            return db.execute("DELETE FROM oauth_tokens WHERE key = ?", (key,)).rowcount > 0

    @contextlib.contextmanager
    def exclusive(self, key: str) -> Iterator[_SqliteExclusive]:
        with contextlib.closing(self._connect()) as db:
            try:
                db.execute("BEGIN IMMEDIATE")  # waits (busy timeout) while another process writes
            except sqlite3.OperationalError as exc:
                raise LockTimeout(f"token {key} stayed locked: {exc}") from None
            try:
                yield _SqliteExclusive(db, key)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        return None
