"""Comparing a backfill's items with what is stored: content fields only (the store's content
hash leaves ``_`` fields out), field by field, and what the backfill gave for each key so far."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Mapping
from typing import Any

from crawler.store import canonical_json, loads


def content_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k[:1] != "_"}


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per content field that differs, ``{"old": ..., "new": ...}`` (a side absent when the
    field is).

    >>> field_changes({"a": 1, "b": [1], "c": None}, {"a": 1.0, "b": [1], "d": 2})
    {'a': {'old': 1, 'new': 1.0}, 'c': {'old': None}, 'd': {'new': 2}}
    """
    changes = {}
    for name in sorted(set(old) | set(new)):
        if name[:1] == "_":
            continue
        if name in old and name in new and canonical_json(old[name]) == canonical_json(new[name]):
            continue
        change = {}
        if name in old:
            change["old"] = old[name]
        if name in new:
            change["new"] = new[name]
        changes[name] = change
    return changes


class SeenKeys:
    """What this backfill gave for each key so far (content hash and content), in a temporary
    SQLite file: an archive of a million pages does not fit in memory."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="backfill-")
        self.conn = sqlite3.connect(os.path.join(self._dir.name, "seen.sqlite"))
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("CREATE TABLE seen (ident TEXT PRIMARY KEY, hash TEXT, doc TEXT)")

    def get(self, ident: str) -> tuple[str, dict[str, Any]] | None:
        row = self.conn.execute("SELECT hash, doc FROM seen WHERE ident = ?", (ident,)).fetchone()
        return (row[0], loads(row[1])) if row else None

    def put(self, ident: str, digest: str, content_json: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO seen VALUES (?, ?, ?)", (ident, digest, content_json)
        )

    def close(self) -> None:
        self.conn.close()
        self._dir.cleanup()
