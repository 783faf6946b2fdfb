"""The embedded store: one SQLite file (stdlib ``sqlite3``, WAL mode), one table per collection.

Layout: ``_collections`` maps each collection to its table, kind (items, history, dead) and key;
an items table holds ``_key`` (the key values as canonical JSON, PRIMARY KEY), ``_hash``,
``_first_seen`` and ``doc`` (the document as JSON); ``_runs`` holds run records.

URI: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite://`` (in memory).
Option: ``?timeout=SECONDS`` (how long to wait for a lock held by another process, default 5).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from crawler.store.base import Sort, Store, UpsertResult
from crawler.store.documents import (
    DEAD_ID_FIELD,
    DEAD_SUFFIX,
    FIRST_SEEN_FIELD,
    HASH_FIELD,
    HISTORY_SUFFIX,
    REPLACED_AT_FIELD,
    Existing,
    dead_document,
    dumps,
    key_text,
    key_values,
    loads,
    plan_upsert,
    utc_now_iso,
)
from crawler.store.sqlite_reader import SqliteReader

# SQLite builds before 3.32 allow 999 parameters per statement.
_IN_CHUNK = 900


def sqlite_path(uri: str) -> tuple[str, float]:
    """``(database path or ":memory:", lock timeout)`` for a ``sqlite://`` URI.

    >>> sqlite_path("sqlite:///data/items.db")
    ('data/items.db', 5.0)
    >>> sqlite_path("sqlite:////tmp/x.db?timeout=0.5")
    ('/tmp/x.db', 0.5)
    >>> sqlite_path("sqlite://")
    (':memory:', 5.0)
    """
    if not uri.lower().startswith("sqlite://"):
        raise ValueError(f"not a sqlite URI: {uri!r}")
    rest = uri[len("sqlite://") :]
    rest, _, query = rest.partition("?")
    options = parse_qs(query)
    try:
        timeout = float(options.get("timeout", ["5"])[0])
    except ValueError:
        raise ValueError(f"invalid timeout in store URI {uri!r}") from None
    if rest in ("", "/", "/:memory:"):
        return ":memory:", timeout
    if not rest.startswith("/"):
        raise ValueError(f"store URI {uri!r} needs three slashes: sqlite:///path/to/file.db")
    return rest[1:], timeout


def table_name(collection: str) -> str:
    """A safe, unique table name for a collection.

    >>> table_name("products"), table_name("shop.products")[:16]
    ('c_products', 'c_shop_products_')
    """
    safe = re.sub(r"\W", "_", collection, flags=re.ASCII)[:48]
    if safe != collection:
        safe += "_" + hashlib.sha1(collection.encode("utf-8")).hexdigest()[:8]
    return f"c_{safe}"


def _json_path(field: str) -> str:
    return '$."' + field.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _where(filter: dict[str, Any] | None) -> tuple[str, list[Any]]:
    if not filter:
        return "", []
    clauses, params = [], []
    for field, value in filter.items():
        if value is None:
            clauses.append("json_extract(doc, ?) IS NULL")
            params.append(_json_path(field))
        elif isinstance(value, bool):
            clauses.append("json_type(doc, ?) = ?")
            params += [_json_path(field), "true" if value else "false"]
        elif isinstance(value, list | dict):
            clauses.append("json_extract(doc, ?) = json(?)")
            params += [_json_path(field), dumps(value)]
        else:
            clauses.append("json_extract(doc, ?) = ?")
            params += [_json_path(field), value]
    return " WHERE " + " AND ".join(clauses), params


def _order(sort: Sort | None) -> tuple[str, list[Any]]:
    if not sort:
        return " ORDER BY rowid", []
    if isinstance(sort, str):
        sort = [(sort[1:], -1)] if sort.startswith("-") else [(sort, 1)]
    terms, params = [], []
    for field, direction in sort:
        terms.append("json_extract(doc, ?) " + ("DESC" if direction < 0 else "ASC"))
        params.append(_json_path(field))
    return " ORDER BY " + ", ".join(terms) + ", rowid", params


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    size = _IN_CHUNK
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SqliteStore(Store):
    """The embedded backend; see the module docstring for the layout."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.path, self.timeout = sqlite_path(uri)
        self._conn: sqlite3.Connection | None = None
        # collection -> (table, kind, key) for collections known to exist
        self._known: dict[str, tuple[str, str, tuple[str, ...] | None]] = {}
        self.reader = SqliteReader(self)

    # -- connection -------------------------------------------------------------------------

    def open(self) -> None:
        if self._conn is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            if self.path != ":memory:":
                self._use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _collections ("
                " name TEXT PRIMARY KEY, table_name TEXT NOT NULL UNIQUE,"
                " kind TEXT NOT NULL, key TEXT)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _runs ("
                " run_id TEXT PRIMARY KEY, rule TEXT, started_at TEXT, doc TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE INDEX IF NOT EXISTS _runs_rule_started ON _runs (rule, started_at)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS _runs_started ON _runs (started_at)")
            self._known = {
                name: (table, kind, tuple(json.loads(key)) if key else None)
                for name, table, kind, key in conn.execute(
                    "SELECT name, table_name, kind, key FROM _collections"
                )
            }
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL once. Two processes opening a new file at the same moment
        both try; SQLite answers the loser "database is locked" at once, without waiting for
        the lock timeout, so the switch is retried within that timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self!r} is not open")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, the write lock taken at once."""
        conn = self.conn
        # IMMEDIATE: take the write lock now, so a locked database fails before any work.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- collections ------------------------------------------------------------------------

    def _ensure(self, collection: str, kind: str, key: tuple[str, ...] | None = None) -> str:
        known = self._reload(collection)  # as it is now: another process may have dropped it
        if known is not None:
            table, known_kind, known_key = known
            if known_kind != kind:
                raise ValueError(f"collection {collection!r} holds {known_kind}, not {kind}")
            if kind == "items" and known_key != key:
                raise ValueError(
                    f"collection {collection!r} is keyed by {known_key}, not {key}: "
                    "export it and drop it, or store the new key in another collection"
                )
            return table
        table = table_name(collection)
        quoted = f'"{table}"'
        with self.transaction() as conn:
            if kind == "items":
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {quoted} (_key TEXT PRIMARY KEY,"
                    " _hash TEXT NOT NULL, _first_seen TEXT, doc TEXT NOT NULL)"
                )
            elif kind == "history":
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {quoted} (id INTEGER PRIMARY KEY,"
                    " _key TEXT NOT NULL, doc TEXT NOT NULL)"
                )
                conn.execute(f'CREATE INDEX IF NOT EXISTS "{table}__key" ON {quoted} (_key)')
            else:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {quoted} (_dead_id TEXT PRIMARY KEY,"
                    " doc TEXT NOT NULL)"
                )
            conn.execute(
                "INSERT OR IGNORE INTO _collections (name, table_name, kind, key) VALUES (?,?,?,?)",
                (collection, table, kind, json.dumps(list(key)) if key else None),
            )
        # Another process may have created it first, with another kind or key: check again.
        if self._reload(collection) is None:
            raise RuntimeError(f"collection {collection!r} vanished while being created")
        return self._ensure(collection, kind, key)

    def table(self, collection: str, kind: str) -> str | None:
        """The table of ``collection`` if it exists and holds ``kind`` (items, history, dead),
        created by this process or another one."""
        known = self._known.get(collection) or self._reload(collection)
        if known is None or known[1] != kind:
            return None
        return known[0]

    def collections(self) -> list[str]:
        return sorted(name for (name,) in self.conn.execute("SELECT name FROM _collections"))

    def drop_collection(self, collection: str) -> dict[str, int]:
        counts = self.reader.drop_collection(collection)  # one transaction (sqlite_reader.py)
        self._known.clear()  # read again from _collections as collections are used
        return counts

    # -- items ------------------------------------------------------------------------------

    def upsert_many(
        self,
        collection: str,
        items: Sequence[dict[str, Any]],
        key: tuple[str, ...],
        *,
        history: bool = False,
    ) -> UpsertResult:
        if not items:
            return UpsertResult()
        key = tuple(key)
        keys = [key_text(key_values(item, key)) for item in items]
        table = self._ensure(collection, "items", key)
        history_table = self._ensure(collection + HISTORY_SUFFIX, "history") if history else None
        now = utc_now_iso()
        with self.transaction() as conn:
            existing: dict[str, Existing] = {}
            distinct = list(dict.fromkeys(keys))
            for chunk in _chunks(distinct):
                marks = ",".join("?" * len(chunk))
                for k, digest, first_seen in conn.execute(
                    f'SELECT _key, _hash, _first_seen FROM "{table}" WHERE _key IN ({marks})',
                    chunk,
                ):
                    existing[k] = Existing(digest, first_seen)
            plan = plan_upsert(items, keys, existing, now)
            if history_table and plan.replaced:
                stored = [k for k, doc in plan.replaced if doc is None]
                old_docs: dict[str, str] = {}
                for chunk in _chunks(stored):
                    marks = ",".join("?" * len(chunk))
                    old_docs.update(
                        conn.execute(
                            f'SELECT _key, doc FROM "{table}" WHERE _key IN ({marks})', chunk
                        )
                    )
                rows = []
                for k, doc in plan.replaced:
                    old = doc if doc is not None else loads(old_docs[k])
                    old[REPLACED_AT_FIELD] = now
                    rows.append((k, dumps(old)))
                conn.executemany(f'INSERT INTO "{history_table}" (_key, doc) VALUES (?, ?)', rows)
            if plan.inserts:
                conn.executemany(
                    f'INSERT INTO "{table}" (_key, _hash, _first_seen, doc) VALUES (?,?,?,?)',
                    [
                        (k, doc[HASH_FIELD], doc[FIRST_SEEN_FIELD], dumps(doc))
                        for k, doc in plan.inserts.items()
                    ],
                )
            if plan.updates:
                conn.executemany(
                    f'UPDATE "{table}" SET _hash = ?, doc = ? WHERE _key = ?',
                    [(doc[HASH_FIELD], dumps(doc), k) for k, doc in plan.updates.items()],
                )
        return UpsertResult(plan.new, plan.updated, plan.unchanged)

    def find(
        self,
        collection: str,
        filter: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
        sort: Sort | None = None,
    ) -> Iterator[dict[str, Any]]:
        known = self._known.get(collection) or self._reload(collection)
        if known is None:
            return iter(())
        where, params = _where(filter)
        order, order_params = _order(sort)
        sql = f'SELECT doc FROM "{known[0]}"{where}{order}'
        params += order_params
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        cursor = self.conn.execute(sql, params)
        return (loads(doc) for (doc,) in cursor)

    def count(self, collection: str, filter: dict[str, Any] | None = None) -> int:
        known = self._known.get(collection) or self._reload(collection)
        if known is None:
            return 0
        where, params = _where(filter)
        (n,) = self.conn.execute(f'SELECT COUNT(*) FROM "{known[0]}"{where}', params).fetchone()
        return n

    def _reload(self, collection: str) -> tuple[str, str, tuple[str, ...] | None] | None:
        """Pick up a collection another process created since :meth:`open`."""
        row = self.conn.execute(
            "SELECT table_name, kind, key FROM _collections WHERE name = ?", (collection,)
        ).fetchone()
        if row is None:
            return None
        table, kind, key = row
        self._known[collection] = (table, kind, tuple(json.loads(key)) if key else None)
        return self._known[collection]

    # -- dead letters and runs --------------------------------------------------------------

    def dead_letter(
        self, collection: str, items: Sequence[dict[str, Any]], reasons: Sequence[str]
    ) -> int:
        if len(items) != len(reasons):
            raise ValueError("dead_letter needs one reason per item")
        if not items:
            return 0
        table = self._ensure(collection + DEAD_SUFFIX, "dead")
        now = utc_now_iso()
        docs = [
            dead_document(item, reason, now) for item, reason in zip(items, reasons, strict=True)
        ]
        with self.transaction() as conn:
            cursor = conn.executemany(
                f'INSERT OR IGNORE INTO "{table}" (_dead_id, doc) VALUES (?, ?)',
                [(doc[DEAD_ID_FIELD], dumps(doc)) for doc in docs],
            )
            return cursor.rowcount

    def record_run(self, run: dict[str, Any]) -> None:
        run = dict(run)
        run.setdefault("run_id", uuid.uuid4().hex)
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO _runs (run_id, rule, started_at, doc) VALUES (?,?,?,?)",
                (run["run_id"], run.get("rule"), run.get("started_at"), dumps(run)),
            )

    def latest_runs(self, rules: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = set(rules)
        rows = self.conn.execute(
            "SELECT rule, doc FROM (SELECT rule, doc, ROW_NUMBER() OVER (PARTITION BY rule "
            "ORDER BY started_at DESC, rowid DESC) AS n FROM _runs WHERE json_extract(doc, '$.part_of') IS NULL) WHERE n = 1"
        )
        return {rule: loads(doc) for rule, doc in rows if rule in wanted}

    def runs(self, rule: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = ("WHERE json_extract(doc, '$.part_of') IS NULL", [])
        if rule is not None:
            where, params = f"{where} AND rule = ?", [rule]
        rows = self.conn.execute(
            f"SELECT doc FROM _runs {where} ORDER BY started_at DESC, rowid DESC LIMIT ?",
            [*params, int(limit)],
        )
        return [loads(doc) for (doc,) in rows]
