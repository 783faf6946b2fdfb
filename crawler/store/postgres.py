"""The PostgreSQL backend (psycopg 3, a ``psycopg_pool.ConnectionPool``): one table per collection.

Layout: ``_collections`` maps each collection to its table, kind (items, history, dead), key and
typed columns; an items table holds ``_key`` (the key values as canonical JSON, PRIMARY KEY),
``_id`` (BIGSERIAL: the tie-breaker of pages and of the change feed), ``_hash``,
``_first_seen``, ``_updated_at`` and ``doc`` (JSONB: the whole document), plus a typed column
per field of the collection's item type (:mod:`crawler.store.postgres_columns`); ``_runs`` holds
run records. Reading: :mod:`crawler.store.postgres_reader`; text search (``pg_trgm``):
:mod:`crawler.store.postgres_search`.

URI: ``postgresql://user:pass@host:5432/db`` (or ``postgres://``), libpq's options allowed
(``?sslmode=require``); the store's own: ``pool_max`` (connections of the pool, default 4).

Writers of several processes share tables safely: schema changes (tables, indexes, columns) take
a transaction-level advisory lock. A batch reads the hashes of its keys without locking, plans
(:func:`crawler.store.documents.plan_upsert`) and writes only what changed, each write checking
that the row is still what it read: inserts by COPY (a key inserted meanwhile is a unique
violation), updates ``WHERE _hash = <the hash read>``; else the batch starts again (rolled back,
then reading what the other wrote): no update is lost. Inserts then updates, each in key order:
writers never wait on each other in a cycle. Unchanged items are neither written nor locked.
After a batch of new keys only (a first run), the next is taken to be new too: sent by COPY
without reading first, and read after all when one of its keys is there.

psycopg is imported when a store is opened, never by a command that does not use one.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from crawler.store.base import Sort, Store, UpsertResult, dropped_parts, shared_lazily
from crawler.store.documents import (
    DEAD_ID_FIELD,
    DEAD_SUFFIX,
    HASH_FIELD,
    HISTORY_SUFFIX,
    UPDATED_AT_FIELD,
    Existing,
    dead_document,
    key_text,
    key_values,
    new_document,
    plan_upsert,
    utc_now_iso,
)
from crawler.store.postgres_columns import Columns
from crawler.store.postgres_reader import PostgresReader
from crawler.store.postgres_schema import (
    CONNECT_TIMEOUT,
    SCHEMA,
    SCHEMA_LOCK,
    Conflict,
    NotNew,
    RunRecords,
    copy_inserts,
    create_collection,
    doc_json,
    find_order,
    find_where,
    keep_history,
    load_doc,
    new_pool,
    postgres_conninfo,
    scrubbed,
    still_there,
)
from crawler.store.postgres_search import drop_search

_IN_CHUNK = 1000  # keys per lookup
_ATTEMPTS = 30  # a batch meeting another writer's changes (or a deadlock) starts again


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    size = _IN_CHUNK
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


class PostgresStore(RunRecords, Store):
    """The PostgreSQL backend; see the module docstring for the layout."""

    def __init__(self, uri: str, pool: Any = None) -> None:
        self.uri = uri
        postgres_conninfo(uri)  # a malformed option fails here, not at first use
        self._pool = pool
        self._owns_pool = pool is None
        self._open = False
        # collection -> (table, kind, key) for collections known to exist
        self._known: dict[str, tuple[str, str, tuple[str, ...] | None]] = {}
        self._version: dict[str, str] = {}  # each _collections row's xmin, as last read
        self._all_new: dict[str, bool] = {}  # whether a collection's last batch was all new
        self.columns = Columns(self)
        self.reader = PostgresReader(self)

    @classmethod
    def thread_factory(cls, uri: str) -> Callable[[], Store]:
        """Stores that share one pool: psycopg_pool's is thread-safe."""
        pool = shared_lazily(lambda: new_pool(uri))
        return lambda: cls(uri, pool=pool())

    # -- connection -------------------------------------------------------------------------

    def open(self) -> None:
        if self._open:
            return
        import psycopg

        conninfo, _ = postgres_conninfo(self.uri)
        try:
            # A connection of its own first: a server that is away, or a wrong password, is
            # told in libpq's words (a pool would only time out).
            timeout = {} if "connect_timeout" in conninfo else {"connect_timeout": CONNECT_TIMEOUT}
            with psycopg.connect(conninfo, **timeout) as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for sql in SCHEMA:
                    conn.execute(sql)
            if self._pool is None:
                self._pool = new_pool(self.uri)
            self._pool.open()
        except psycopg.Error as exc:
            raise scrubbed(exc, self.uri) from None
        self._open = True
        self._known = {
            name: (table, kind, tuple(key) if key else None)
            for name, table, kind, key in self._rows(
                "SELECT name, table_name, kind, key FROM _collections"
            )
        }

    def close(self) -> None:
        if self._pool is not None and self._owns_pool:
            self._pool.close()
            self._pool = None
        self._open = False

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection of the pool in a transaction: committed at the end of the block,
        rolled back on an exception."""
        if not self._open or self._pool is None:
            raise RuntimeError(f"{self!r} is not open")
        with self._pool.connection() as conn:
            yield conn

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def schema_change(self) -> Iterator[Any]:
        """A transaction holding the schema lock: one process changes tables at a time."""
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            yield conn

    # -- collections ------------------------------------------------------------------------

    def _ensure(
        self,
        collection: str,
        kind: str,
        key: tuple[str, ...] | None = None,
        *,
        cached: bool = False,
    ) -> str:
        """The table of ``collection``, created if missing. As it is now (another process may
        have dropped it), or as this process last saw it when ``cached`` (a writer that checks
        again inside its transaction)."""
        known = self._known.get(collection) if cached and collection in self._version else None
        if known is not None and (known[1], known[2] if kind == "items" else key) != (kind, key):
            known = None  # another process may have dropped it and made it again: read it
        known = known or self._reload(collection)
        if known is None:
            with self.schema_change() as conn:
                create_collection(conn, collection, kind, key)
            known = self._reload(collection)
            if known is None:
                raise RuntimeError(f"collection {collection!r} vanished while being created")
        table, known_kind, known_key = known
        if known_kind != kind:
            raise ValueError(f"collection {collection!r} holds {known_kind}, not {kind}")
        if kind == "items" and known_key != key:
            raise ValueError(
                f"collection {collection!r} is keyed by {known_key}, not {key}: "
                "export it and drop it, or store the new key in another collection"
            )
        return table

    def _reload(self, collection: str) -> tuple[str, str, tuple[str, ...] | None] | None:
        """Pick up a collection another process created since :meth:`open`."""
        rows = self._rows(
            "SELECT table_name, kind, key, columns, xmin::text FROM _collections WHERE name = %s",
            (collection,),
        )
        if not rows:
            self._known.pop(collection, None)
            return None
        table, kind, key, columns, self._version[collection] = rows[0]
        self._known[collection] = (table, kind, tuple(key) if key else None)
        self.columns.recorded[collection] = (table, dict(columns or {}))
        return self._known[collection]

    def table(self, collection: str, kind: str | None = None) -> str | None:
        """The table of ``collection`` if it exists (and holds ``kind``: items, history, dead),
        created by this process or another one."""
        known = self._known.get(collection) or self._reload(collection)
        if known is None or (kind is not None and known[1] != kind):
            return None
        return known[0]

    def collections(self) -> list[str]:
        return sorted(name for (name,) in self._rows("SELECT name FROM _collections"))

    def drop_collection(self, collection: str) -> dict[str, int]:
        counts = dict.fromkeys(("items", "history", "dead"), 0)
        parts = dropped_parts(collection)  # ValueError first, for a name never dropped
        with self.schema_change() as conn:
            for kind, name in parts.items():  # the parts are the kinds
                row = conn.execute(
                    "SELECT table_name FROM _collections WHERE name = %s AND kind = %s",
                    (name, kind),
                ).fetchone()
                if row is None:
                    continue
                (counts[kind],) = conn.execute(f'SELECT COUNT(*) FROM "{row[0]}"').fetchone()
                conn.execute(f'DROP TABLE "{row[0]}"')  # its indexes with it
                if kind == "items":
                    drop_search(conn, row[0])
                conn.execute("DELETE FROM _collections WHERE name = %s", (name,))
        self._known.clear()
        return counts

    def declare_columns(self, collection: str, columns: dict[str, str]) -> None:
        """Typed columns for the fields of ``collection``'s item type (field -> JSON type),
        added to its table (now, or when it is created) and filled from each document."""
        self.columns.declare(collection, columns)

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
        import psycopg

        key = tuple(key)
        keys = [key_text(key_values(item, key)) for item in items]
        for attempt in range(_ATTEMPTS):
            # The tables as this process knows them, checked again in the transaction (dropped?)
            table = self._ensure(collection, "items", key, cached=True)
            self.columns.apply(collection, table)
            hist = collection + HISTORY_SUFFIX
            history_table = self._ensure(hist, "history", cached=True) if history else None
            written = (collection, hist) if history else (collection,)
            expected = {n: self._version[n] for n in written if n in self._version}
            new = self._all_new.get(collection, True)  # as the last batch was: skip the read
            try:
                with self.connection() as conn:
                    if not still_there(conn, expected):
                        raise Conflict()
                    result = self._upsert(conn, table, history_table, items, keys, new)
                self._all_new[collection] = result.new == len(items)
                return result
            except NotNew:  # some were stored: read them, at once (not another writer's doing)
                self._all_new[collection] = False
            except (Conflict, psycopg.errors.DeadlockDetected):
                for name in expected:
                    self._version.pop(name, None)  # read again at the next attempt
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # let the other one finish
        raise RuntimeError(f"other writers kept changing the keys of a batch of {collection!r}")

    def _upsert(
        self,
        conn: Any,
        table: str,
        history_table: str | None,
        items: Sequence[dict[str, Any]],
        keys: list[str],
        new: bool = False,
    ) -> UpsertResult:
        """One attempt, in ``conn``'s transaction: read without locks, plan, then write only
        what the plan writes, each write checking that the row is still what the plan read
        (inserts by COPY: a key another writer inserted meanwhile is a unique violation;
        updates ``WHERE _hash = read``); :class:`Conflict` when not. Inserts then updates, each
        in key order: writers never wait on each other in a cycle. ``new``: the keys are taken
        to be new, unread (a crawl's first run), :class:`NotNew` when one was stored."""
        import psycopg

        if new and len(set(keys)) == len(keys):  # a first run: each document made as it is sent
            now = utc_now_iso()
            order = sorted(range(len(keys)), key=keys.__getitem__)
            pairs = ((keys[i], new_document(items[i], now)) for i in order)
            try:
                copy_inserts(conn, table, pairs)
            except psycopg.errors.UniqueViolation:
                raise NotNew() from None
            return UpsertResult(new=len(keys))
        existing: dict[str, Existing] = {}
        for chunk in _chunks(sorted(set(keys))):
            for k, digest, first_seen in conn.execute(
                f'SELECT _key, _hash, _first_seen FROM "{table}" WHERE _key = ANY(%b::text[])',
                (chunk,),
            ):
                existing[k] = Existing(digest, first_seen)
        now = utc_now_iso()
        plan = plan_upsert(items, keys, existing, now)
        if history_table and plan.replaced:
            keep_history(conn, table, history_table, plan.replaced, existing, now)
        if plan.inserts:
            pairs = ((k, plan.inserts[k]) for k in sorted(plan.inserts, key=str))
            try:
                copy_inserts(conn, table, pairs)
            except psycopg.errors.UniqueViolation:
                if new:
                    raise NotNew() from None
                raise Conflict() from None  # another writer inserted one of these keys meanwhile
        if plan.updates:
            order = sorted(plan.updates, key=str)
            docs = [plan.updates[k] for k in order]
            updated = conn.execute(
                f'UPDATE "{table}" AS t SET _hash = x.h, _updated_at = x.u, doc = x.d::jsonb '
                "FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[]) "
                "AS x(k, old, h, u, d) WHERE t._key = x.k AND t._hash = x.old",
                (
                    order,
                    [existing[str(k)].hash for k in order],
                    [doc[HASH_FIELD] for doc in docs],
                    [doc[UPDATED_AT_FIELD] for doc in docs],
                    [doc_json(doc) for doc in docs],
                ),
            ).rowcount
            if updated != len(order):
                raise Conflict()  # another writer changed one of these items meanwhile
        return UpsertResult(plan.new, plan.updated, plan.unchanged)

    def find(
        self,
        collection: str,
        filter: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
        sort: Sort | None = None,
    ) -> Iterator[dict[str, Any]]:
        table = self.table(collection)
        if table is None:
            return iter(())
        where, params = find_where(filter)
        sql = f'SELECT doc::text FROM "{table}"{where}{find_order(sort)}'
        if limit is not None:
            sql += " LIMIT %s"
            params.append(int(limit))
        return self._stream(sql, params)

    def _stream(self, sql: str, params: list[Any]) -> Iterator[dict[str, Any]]:
        """The documents of a query, read 1,000 at a time through a server-side cursor."""
        with self.connection() as conn, conn.cursor(name=f"find_{uuid.uuid4().hex}") as cur:
            cur.itersize = 1000
            cur.execute(sql, params)
            for (doc,) in cur:
                yield load_doc(doc)

    def count(self, collection: str, filter: dict[str, Any] | None = None) -> int:
        table = self.table(collection)
        if table is None:
            return 0
        where, params = find_where(filter)
        ((n,),) = self._rows(f'SELECT COUNT(*) FROM "{table}"{where}', params)
        return n

    # -- dead letters and runs --------------------------------------------------------------

    def dead_letter(
        self, collection: str, items: Sequence[dict[str, Any]], reasons: Sequence[str]
    ) -> int:
        if len(items) != len(reasons):
            raise ValueError("dead_letter needs one reason per item")
        if not items:
            return 0
        import psycopg

        table = self._ensure(collection + DEAD_SUFFIX, "dead")
        now = utc_now_iso()
        docs = [
            dead_document(item, reason, now) for item, reason in zip(items, reasons, strict=True)
        ]
        for attempt in range(_ATTEMPTS):
            try:
                with self.connection() as conn:
                    cursor = conn.execute(
                        f'INSERT INTO "{table}" (_dead_id, doc) SELECT i, d::jsonb '
                        "FROM unnest(%b::text[], %b::text[]) AS x(i, d) "
                        "ON CONFLICT (_dead_id) DO NOTHING",
                        ([doc[DEAD_ID_FIELD] for doc in docs], [doc_json(doc) for doc in docs]),
                    )
                    return cursor.rowcount
            except psycopg.errors.DeadlockDetected:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")
