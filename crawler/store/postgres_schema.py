"""The PostgreSQL store's plumbing: its URI, its pool, the schema, the SQL of ``find`` and
the run records (:mod:`crawler.store.postgres` has the layout)."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from crawler.store.base import Sort
from crawler.store.browse import check_field
from crawler.store.documents import (
    FIRST_SEEN_FIELD,
    HASH_FIELD,
    REPLACED_AT_FIELD,
    UPDATED_AT_FIELD,
    Existing,
    dumps,
    loads,
)

# JSONB cannot hold U+0000: a NUL in a string (``\u0000`` in JSON text, after an even number of
# backslashes) is stored as U+FFFD.
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def field_expr(name: str, *, checked: bool = True) -> str:
    """The SQL of a top-level field's value (NULL when missing or JSON null), as a literal.

    >>> field_expr("price")
    "NULLIF(doc -> 'price', 'null'::jsonb)"
    """
    if checked:
        check_field(name)
    return "NULLIF(doc -> '" + name.replace("'", "''") + "', 'null'::jsonb)"


def doc_json(value: Any) -> str:
    """A document as JSON text for a JSONB column."""
    text = dumps(value)
    if "\\u0000" in text:
        text = _NUL.sub(lambda m: m.group(1) + "\\ufffd", text)
    return text


def load_doc(text: str | bytes) -> Any:
    try:
        return loads(text)
    except ValueError:  # what orjson refuses (an integer beyond 64 bits), the json module reads
        return json.loads(text)


DEFAULT_POOL_MAX = 4
CONNECT_TIMEOUT = 5  # seconds, unless the URI says otherwise
POOL_TIMEOUT = 10.0  # seconds to wait for a free connection of the pool
#: The key of the advisory lock every schema change takes (tables, indexes, columns).
SCHEMA_LOCK = 0x63726177  # "craw"
#: The key of the (session) advisory lock of an index being built: never taken by a writer.
INDEX_LOCK = SCHEMA_LOCK + 1
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS _collections (name TEXT PRIMARY KEY, table_name TEXT NOT NULL "
    "UNIQUE, kind TEXT NOT NULL, key JSONB, columns JSONB NOT NULL DEFAULT '{}'::jsonb)",
    "CREATE TABLE IF NOT EXISTS _runs (_id BIGSERIAL NOT NULL, run_id TEXT PRIMARY KEY, "
    'rule TEXT, started_at TEXT COLLATE "C", doc JSONB NOT NULL)',
    "CREATE INDEX IF NOT EXISTS _runs_rule_started ON _runs (rule, started_at, _id)",
    "CREATE INDEX IF NOT EXISTS _runs_started ON _runs (started_at, _id)",
)


def postgres_conninfo(uri: str) -> tuple[str, int]:
    """``(the URI libpq is given, pool size)``: the store's own options taken out.

    >>> postgres_conninfo("postgres://u:p@h/db?pool_max=2&sslmode=require")
    ('postgresql://u:p@h/db?sslmode=require', 2)
    >>> postgres_conninfo("postgresql://h/db?options=-c%20work_mem%3D64MB")
    ('postgresql://h/db?options=-c%20work_mem%3D64MB', 4)
    """
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise ValueError("not a postgresql:// URI")
    options = parse_qsl(parts.query, keep_blank_values=True)
    pool_max = DEFAULT_POOL_MAX
    kept = []
    for name, value in options:
        if name == "pool_max":
            if not value.isdigit() or int(value) < 1:
                raise ValueError("pool_max in a postgresql:// store URI is a positive integer")
            pool_max = int(value)
        else:
            kept.append((name, value))
    query = urlencode(kept, quote_via=quote) if len(kept) != len(options) else parts.query
    return urlunsplit(("postgresql", parts.netloc, parts.path, query, parts.fragment)), pool_max


def table_name(collection: str) -> str:
    """A safe, unique table name for a collection (within PostgreSQL's 63 bytes).

    >>> table_name("products"), table_name("shop.products")[:16]
    ('c_products', 'c_shop_products_')
    """
    safe = re.sub(r"\W", "_", collection, flags=re.ASCII)[:40]
    if safe != collection:
        safe += "_" + hashlib.sha1(collection.encode("utf-8")).hexdigest()[:8]
    return f"c_{safe}"


def _secret(uri: str) -> str | None:
    try:
        password = urlsplit(uri).password
    except ValueError:
        return None
    return password or None


def scrubbed(exc: BaseException, uri: str) -> BaseException:
    """``exc`` itself, or one of the same kind whose message no longer holds the URI's
    password (libpq quotes a malformed part of a URI in its message)."""
    secret = _secret(uri)
    text = str(exc)
    if not secret or (secret not in text and unquote(secret) not in text):
        return exc
    text = text.replace(secret, "***").replace(unquote(secret), "***")
    try:
        return type(exc)(text)
    except Exception:  # an exception class that wants other arguments
        return RuntimeError(text)


def new_pool(uri: str) -> Any:
    """A connection pool for ``uri`` (min 1, ``pool_max`` connections), not yet opened: a
    store opens it; threads of one process may share it (:meth:`PostgresStore.thread_factory`)."""
    from psycopg_pool import ConnectionPool

    conninfo, pool_max = postgres_conninfo(uri)
    kwargs = {} if "connect_timeout" in conninfo else {"connect_timeout": CONNECT_TIMEOUT}
    return ConnectionPool(
        conninfo,
        min_size=1,
        max_size=max(1, pool_max),
        kwargs=kwargs,
        open=False,
        timeout=POOL_TIMEOUT,
        name="crawler-store",
    )


def create_collection(conn: Any, collection: str, kind: str, key: tuple[str, ...] | None) -> None:
    """Create the table of ``collection`` (in ``conn``'s transaction, holding the schema
    lock) and map it in ``_collections``, unless another process did meanwhile."""
    from psycopg.types.json import Jsonb

    row = conn.execute("SELECT 1 FROM _collections WHERE name = %s", (collection,)).fetchone()
    if row is not None:  # another process created it while we waited for the lock
        return
    table = table_name(collection)
    quoted = f'"{table}"'
    if kind == "items":
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS {quoted} (_key TEXT COLLATE "C" PRIMARY KEY, '
            "_id BIGSERIAL NOT NULL, _hash TEXT NOT NULL, _first_seen TEXT, "
            '_updated_at TEXT COLLATE "C", doc JSONB NOT NULL)'
        )
        conn.execute(f'CREATE INDEX IF NOT EXISTS "i_{table}__id" ON {quoted} (_id)')
        conn.execute(f'CREATE INDEX IF NOT EXISTS "i_{table}__upd" ON {quoted} (_updated_at, _id)')
    elif kind == "history":
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted} (_id BIGSERIAL PRIMARY KEY, "
            '_key TEXT COLLATE "C" NOT NULL, doc JSONB NOT NULL)'
        )
        conn.execute(f'CREATE INDEX IF NOT EXISTS "i_{table}__key" ON {quoted} (_key, _id)')
    else:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted} (_id BIGSERIAL NOT NULL, "
            "_dead_id TEXT PRIMARY KEY, doc JSONB NOT NULL)"
        )
        conn.execute(f'CREATE INDEX IF NOT EXISTS "i_{table}__id" ON {quoted} (_id)')
    conn.execute(
        "INSERT INTO _collections (name, table_name, kind, key) VALUES (%s, %s, %s, %s)",
        (collection, table, kind, Jsonb(list(key)) if key else None),
    )


def find_where(filter: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """WHERE of :meth:`crawler.store.postgres.PostgresStore.find`: equality on top-level fields (a JSON null or a
    missing field for None), values compared as JSON (``12`` is not ``"12"``)."""
    if not filter:
        return "", []
    clauses, params = [], []
    for name, value in filter.items():
        expr = field_expr(name, checked=False)
        if value is None:
            clauses.append(f"{expr} IS NULL")
        else:
            clauses.append(f"{expr} = %s::jsonb")
            params.append(doc_json(value))
    return " WHERE " + " AND ".join(clauses), params


def find_order(sort: Sort | None) -> str:
    """ORDER BY of :meth:`crawler.store.postgres.PostgresStore.find`: missing and null values first ascending, last
    descending (as SQLite sorts them), then storage order."""
    if not sort:
        return " ORDER BY _id"
    if isinstance(sort, str):
        sort = [(sort[1:], -1)] if sort.startswith("-") else [(sort, 1)]
    terms = [
        field_expr(name, checked=False) + (" DESC NULLS LAST" if direction < 0 else " NULLS FIRST")
        for name, direction in sort
    ]
    return " ORDER BY " + ", ".join(terms) + ", _id"


class Conflict(Exception):
    """Another writer inserted or changed a key of this batch meanwhile: it starts again."""


def copy_inserts(conn: Any, table: str, pairs: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """COPY new documents (``(key, document)`` pairs, in key order) into ``table``: a third
    faster than ``INSERT ... SELECT FROM unnest`` (benchmarks/bench_postgres.py), and rows
    made while COPY sends the earlier ones are parsed by the server meanwhile. A key that is
    there already: psycopg's UniqueViolation."""
    columns = "_key, _hash, _first_seen, _updated_at, doc"
    with conn.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        for key, doc in pairs:
            copy.write_row(
                (key, doc[HASH_FIELD], doc[FIRST_SEEN_FIELD], doc[UPDATED_AT_FIELD], doc_json(doc))
            )


class NotNew(Exception):
    """A batch taken to be new holds a stored key: it starts again, reading them first."""


def still_there(conn: Any, expected: dict[str, str]) -> bool:
    """Whether each collection's record is still the version this process read (its xmin: a
    collection dropped and made again, or given new columns, has another), read in ``conn``'s
    transaction."""
    rows = conn.execute(
        "SELECT name, xmin::text FROM _collections WHERE name = ANY(%s)", (list(expected),)
    ).fetchall()
    return dict(rows) == expected


def keep_history(
    conn: Any,
    table: str,
    history_table: str,
    replaced: list[tuple[Any, dict[str, Any] | None]],
    existing: dict[str, Existing],
    now: str,
) -> None:
    """Write the versions a batch replaces to the history table: those stored (read
    again, still with the hash the plan read) and those written earlier in the batch."""
    stored = sorted({str(k) for k, doc in replaced if doc is None})
    old_docs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(stored), 1000):
        chunk = stored[start : start + 1000]
        rows = conn.execute(
            f'SELECT t._key, t.doc::text FROM "{table}" AS t JOIN unnest(%b::text[], '
            "%b::text[]) AS x(k, h) ON t._key = x.k AND t._hash = x.h",
            (chunk, [existing[k].hash for k in chunk]),
        )
        old_docs.update((k, load_doc(doc)) for k, doc in rows)
    if len(old_docs) != len(stored):
        raise Conflict()
    rows = []
    for k, doc in replaced:
        old = doc if doc is not None else old_docs[str(k)]
        old[REPLACED_AT_FIELD] = now
        rows.append((k, doc_json(old)))
    conn.execute(
        f'INSERT INTO "{history_table}" (_key, doc) '
        "SELECT k, d::jsonb FROM unnest(%b::text[], %b::text[]) AS x(k, d)",
        ([k for k, _ in rows], [d for _, d in rows]),
    )


#: A run record that is a part of a distributed run's (a worker's): left out of lists.
_PART_OF = field_expr("part_of")


class RunRecords:
    """Run records in ``_runs`` (run_id, rule, started_at, the record as JSONB), for
    :class:`crawler.store.postgres.PostgresStore`."""

    def connection(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def record_run(self, run: dict[str, Any]) -> None:
        run = dict(run)
        run.setdefault("run_id", uuid.uuid4().hex)
        started = run.get("started_at")
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO _runs (run_id, rule, started_at, doc) VALUES (%s, %s, %s, %s::jsonb) "
                "ON CONFLICT (run_id) DO UPDATE SET rule = EXCLUDED.rule, "
                "started_at = EXCLUDED.started_at, doc = EXCLUDED.doc",
                (
                    str(run["run_id"]),
                    run.get("rule"),
                    None if started is None else str(started),
                    doc_json(run),
                ),
            )

    def latest_runs(self, rules: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(rules))
        rows = self._rows(
            "SELECT DISTINCT ON (rule) rule, doc::text FROM _runs WHERE rule = ANY(%b::text[]) AND "
            f"{_PART_OF} IS NULL ORDER BY rule, started_at DESC NULLS LAST, _id DESC",
            (wanted,),
        )
        return {rule: load_doc(doc) for rule, doc in rows}

    def runs(self, rule: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = f"WHERE {_PART_OF} IS NULL", []
        if rule is not None:
            where, params = f"{where} AND rule = %s", [rule]
        rows = self._rows(
            f"SELECT doc::text FROM _runs {where} "
            "ORDER BY started_at DESC NULLS LAST, _id DESC LIMIT %s",
            [*params, int(limit)],
        )
        return [load_doc(doc) for (doc,) in rows]


def build_index(
    connection: Callable[[], AbstractContextManager[Any]], name: str, definition: str
) -> bool:
    """``CREATE INDEX CONCURRENTLY name definition`` unless a valid index of that name is
    there (one left invalid by a build that failed is built again); True when it was built now.

    Concurrently, so that writers of the table (a running crawl) go on while a big index is
    built; one build at a time (a session advisory lock no writer takes). A build waits for
    the transactions open when it starts: not to be called while the same thread holds one
    open (iterating :meth:`~crawler.store.postgres.PostgresStore.find`)."""
    with connection() as conn:
        conn.autocommit = True
        try:
            # Tried, not waited for: a statement waiting for the lock would be a transaction
            # the other build waits for in turn (CONCURRENTLY waits for older transactions).
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (INDEX_LOCK,)).fetchone()[0]:
                time.sleep(0.05)
            try:
                row = conn.execute(
                    "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                    (f'"{name}"',),
                ).fetchone()
                if row is not None and row[0]:
                    return False
                if row is not None:
                    conn.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
                conn.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" {definition}')
                return True
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (INDEX_LOCK,))
        finally:
            conn.autocommit = False
