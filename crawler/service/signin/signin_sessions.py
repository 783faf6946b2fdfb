"""Sessions of people signed in to the data service, kept on the server: a SQLite file
(``SIGNIN_SESSIONS_FILE``, mode 0600) holds each session's data under the SHA-256 of its id, and
the browser holds only the id in a signed cookie (HMAC-SHA256 with the key of
:func:`session_key`). A session ends at its absolute deadline, after a stretch without requests,
or at sign-out; the same file records who signed in, for ``scrapy auth people``.

>>> signer = CookieSigner(b"k" * 32)
>>> value = signer.sign("abc")
>>> signer.unsign(value), signer.unsign(value[:-1] + "x"), signer.unsign("abc")
('abc', None, None)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.service.signin.roles import Identity

MAX_COOKIE = 512
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, data TEXT NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL, seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
CREATE TABLE IF NOT EXISTS people (
    key TEXT PRIMARY KEY, provider TEXT NOT NULL, name TEXT NOT NULL, keys TEXT NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL
);
"""


def session_key(env_variable: str, path: Path | str, environ: Mapping[str, str] | None = None):
    """The key signing session cookies: the environment variable's value when set, else a random
    key kept in ``path`` (created on first use, mode 0600)."""
    value = (os.environ if environ is None else environ).get(env_variable, "")
    if value:
        if len(value) < 32:
            raise ValueError(f"${env_variable} must hold at least 32 characters")
        return value.encode("utf-8")
    path = Path(path).expanduser()
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise ValueError(f"{path} does not hold a session key (hex): remove it") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex())
    return key


class CookieSigner:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def _mac(self, value: str) -> str:
        digest = hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str) -> str | None:
        if not signed or len(signed) > MAX_COOKIE:
            return None
        value, _, mac = signed.rpartition(".")
        if not value or not hmac.compare_digest(mac, self._mac(value)):
            return None
        return value


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass
class Stored:
    data: dict[str, Any]
    created: float
    expires: float
    seen: float


class SessionStore:
    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path).expanduser()
        self.clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._purged = 0.0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- sessions -------------------------------------------------------------------------

    def load(self, session_id: str, idle: float) -> Stored | None:
        """The session, unless it is unknown, past its deadline or idle longer than ``idle``."""
        now = self.clock()
        with self._lock:
            row = self._db.execute(
                "SELECT data, created, expires, seen FROM sessions WHERE id_hash = ?",
                (_hash(session_id),),
            ).fetchone()
        if row is None:
            return None
        stored = Stored(json.loads(row[0]), row[1], row[2], row[3])
        if now >= stored.expires or now - stored.seen >= idle:
            self.delete(session_id)
            return None
        return stored

    def save(self, session_id: str, data: dict[str, Any], created: float, expires: float) -> None:
        now = self.clock()
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (id_hash, data, created, expires, seen) VALUES (?,?,?,?,?) "
                "ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, "
                "expires = excluded.expires, seen = excluded.seen",
                (_hash(session_id), json.dumps(data), created, expires, now),
            )
        self._purge(now)

    def touch(self, session_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET seen = ? WHERE id_hash = ?", (self.clock(), _hash(session_id))
            )

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(session_id),))

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM sessions").fetchone()[0]

    def _purge(self, now: float) -> None:
        if now - self._purged < 300:
            return
        self._purged = now
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))

    # -- people ---------------------------------------------------------------------------

    def seen(self, who: Identity) -> None:
        now = self.clock()
        with self._lock:
            self._db.execute(
                "INSERT INTO people (key, provider, name, keys, first_seen, last_seen) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET name = excluded.name, "
                "keys = excluded.keys, provider = excluded.provider, last_seen = excluded.last_seen",
                (who.key, who.provider, who.name, json.dumps(list(who.keys)), now, now),
            )

    def people(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, provider, name, keys, first_seen, last_seen FROM people "
                "ORDER BY last_seen DESC"
            ).fetchall()
        return [
            {"id": r[0], "provider": r[1], "name": r[2], "keys": json.loads(r[3]),
             "first_seen": r[4], "last_seen": r[5]}
            for r in rows
        ]  # fmt: skip
