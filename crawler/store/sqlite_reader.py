"""Reading the embedded store as the data service does: keyset pages, one item and its
history, dead letters, the change feed, run records (see :mod:`crawler.store.browse`).

Sort and filter fields are read with ``json_extract(doc, '$."field"')`` written as a literal, so
that an index created by :meth:`SqliteReader.ensure_index` on the same expression serves the
query; the tie-breaker is the row id, which every index of a table carries. A page is then an
index range scan however deep it is.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from crawler.store.base import dropped_parts
from crawler.store.browse import (
    CRAWLED_AT_FIELD,
    KEY_FIELD,
    CursorError,
    ItemQuery,
    Page,
    check_field,
    decode_cursor,
    encode_cursor,
    sort_phases,
)
from crawler.store.documents import DEAD_SUFFIX, HISTORY_SUFFIX, UPDATED_AT_FIELD, loads
from crawler.store.sqlite_search import drop_search, ensure_search, search_clauses

_IN_CHUNK = 900
# A read that meets another connection's schema change (an index or a text index being built)
# while SQLite connects a text index's virtual table fails with SQLITE_SCHEMA, which SQLite does
# not retry there itself ("vtable constructor failed"): it is read again, this many times.
_SCHEMA_RETRIES = 5


def _rowid(value: Any) -> bool:
    """Whether a cursor's tie-breaker is a row id (one of ours), not text or a number of
    another kind that would compare without meaning."""
    return isinstance(value, int) and not isinstance(value, bool)


def field_expr(name: str) -> str:
    """``json_extract(doc, '$."name"')`` as SQL text (the name checked first).

    >>> field_expr("price")
    'json_extract(doc, \\'$."price"\\')'
    """
    check_field(name)
    return "json_extract(doc, '$.\"" + name.replace("'", "''") + "\"')"


def _bool_type(name: str) -> str:
    return "json_type(doc, '$.\"" + name.replace("'", "''") + "\"')"


def _rows_with_key(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out = []
    for key, doc in rows:
        item = loads(doc)
        item[KEY_FIELD] = key
        out.append(item)
    return out


class SqliteTables(Protocol):
    """What the reader asks of :class:`crawler.store.sqlite.SqliteStore`."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def table(self, collection: str, kind: str) -> str | None: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SqliteReader:
    """The embedded store's :class:`~crawler.store.browse.StoreReader`, composed by
    :class:`~crawler.store.sqlite.SqliteStore` over its connection and tables."""

    def __init__(self, tables: SqliteTables) -> None:
        self.tables = tables

    @property
    def conn(self) -> sqlite3.Connection:
        return self.tables.conn

    def _table(self, collection: str, kind: str) -> str | None:
        return self.tables.table(collection, kind)

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """The rows of a (bounded) query, read again when the schema changed under it."""
        attempt = 0
        while True:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                attempt += 1
                if attempt > _SCHEMA_RETRIES or exc.sqlite_errorname != "SQLITE_SCHEMA":
                    raise

    # -- items ------------------------------------------------------------------------------

    def _item_where(self, table: str, query: ItemQuery) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for name, value in sorted(query.filters.items()):
            expr = field_expr(name)
            if value is None:
                clauses.append(f"{expr} IS NULL")
            elif isinstance(value, bool):
                clauses.append(f"{expr} = ? AND {_bool_type(name)} = ?")
                params += [int(value), "true" if value else "false"]
            else:
                clauses.append(f"{expr} = ?")
                params.append(value)
        for name, present in sorted(query.exists.items()):
            clauses.append(f"{field_expr(name)} IS {'NOT ' if present else ''}NULL")
        if query.text is not None:  # built on first use (or by the service's reconciliation)
            ensure_search(self.conn, table, self.tables.transaction)
        search, args = search_clauses(table, query)  # contains, prefix, text
        clauses += search
        params += args
        if query.since:
            clauses.append(f"{field_expr(CRAWLED_AT_FIELD)} >= ?")
            params.append(query.since)
        if query.until:
            clauses.append(f"{field_expr(CRAWLED_AT_FIELD)} < ?")
            params.append(query.until)
        return clauses, params

    def page_items(self, collection: str, query: ItemQuery) -> Page:
        table = self._table(collection, "items")
        if table is None:
            return Page([], None, 0 if query.count else None)
        clauses, params = self._item_where(table, query)
        count = None
        if query.count:
            where = " WHERE " + " AND ".join(clauses) if clauses else ""
            ((count,),) = self._read(f'SELECT COUNT(*) FROM "{table}"{where}', params)
        position = decode_cursor(query.cursor)
        want = query.limit + 1
        if query.sort_field is None:
            rows = self._unsorted(table, clauses, params, position, want)
        else:
            rows = self._sorted(table, clauses, params, query, position, want)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        items = _rows_with_key([(key, doc) for _, key, doc in rows])
        next_cursor = encode_cursor(rows[-1][0]) if more and rows else None
        return Page(items, next_cursor, count)

    def _unsorted(
        self,
        table: str,
        clauses: list[str],
        params: list[Any],
        position: list[Any] | None,
        want: int,
    ) -> list[tuple[list[Any], str, str]]:
        clauses, params = list(clauses), list(params)
        if position is not None:
            if position[0] != "r" or len(position) != 2 or not _rowid(position[1]):
                raise CursorError("cursor of another query")
            clauses.append("rowid > ?")
            params.append(position[1])
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        sql = f'SELECT rowid, _key, doc FROM "{table}"{where} ORDER BY rowid LIMIT ?'
        return [(["r", rowid], key, doc) for rowid, key, doc in self._read(sql, [*params, want])]

    def _sorted(
        self,
        table: str,
        clauses: list[str],
        params: list[Any],
        query: ItemQuery,
        position: list[Any] | None,
        want: int,
    ) -> list[tuple[list[Any], str, str]]:
        expr = field_expr(query.sort_field or "")
        desc = query.descending
        direction = "DESC" if desc else "ASC"
        compare = "<" if desc else ">"
        phases = sort_phases(desc)
        if position is not None and (
            len(position) != 3 or position[0] not in phases or not _rowid(position[2])
        ):
            raise CursorError("cursor of another query")
        start = phases.index(position[0]) if position is not None else 0
        rows: list[tuple[list[Any], str, str]] = []
        for i, phase in enumerate(phases[start:]):
            after = position if i == 0 else None
            where, args = list(clauses), list(params)
            if phase == "n":
                where.append(f"{expr} IS NULL")
                if after is not None:
                    where.append(f"rowid {compare} ?")
                    args.append(after[2])
                order = f"rowid {direction}"
            else:
                where.append(f"{expr} IS NOT NULL")
                if after is not None:
                    # The first term lets SQLite seek the index; the row value breaks ties.
                    where.append(f"{expr} {compare}= ? AND ({expr}, rowid) {compare} (?, ?)")
                    args += [after[1], after[1], after[2]]
                order = f"{expr} {direction}, rowid {direction}"
            sql = (
                f'SELECT rowid, _key, doc, {expr} FROM "{table}" WHERE {" AND ".join(where)} '
                f"ORDER BY {order} LIMIT ?"
            )
            for rowid, key, doc, value in self._read(sql, [*args, want - len(rows)]):
                rows.append(([phase, value, rowid], key, doc))
            if len(rows) >= want:
                break
        return rows

    def get_item(self, collection: str, key: str) -> dict[str, Any] | None:
        table = self._table(collection, "items")
        if table is None:
            return None
        row = self.conn.execute(
            f'SELECT _key, doc FROM "{table}" WHERE _key = ?', (key,)
        ).fetchone()
        return _rows_with_key([row])[0] if row else None

    def get_items(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        table = self._table(collection, "items")
        if table is None:
            return {}
        found: dict[str, dict[str, Any]] = {}
        distinct = list(dict.fromkeys(keys))
        for start in range(0, len(distinct), _IN_CHUNK):
            chunk = distinct[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f'SELECT _key, doc FROM "{table}" WHERE _key IN ({marks})', chunk
            ).fetchall()
            found.update((doc[KEY_FIELD], doc) for doc in _rows_with_key(rows))
        return found

    def item_history(self, collection: str, key: str, limit: int) -> list[dict[str, Any]]:
        table = self._table(collection + HISTORY_SUFFIX, "history")
        if table is None:
            return []
        rows = self.conn.execute(
            f'SELECT _key, doc FROM "{table}" WHERE _key = ? ORDER BY id DESC LIMIT ?',
            (key, int(limit)),
        )
        return _rows_with_key(list(rows))

    def ensure_index(self, collection: str, fields: Sequence[str]) -> bool:
        table = self._table(collection, "items")
        if table is None:
            return False
        exprs = [field_expr(name) for name in fields]
        digest = hashlib.sha1("\0".join(fields).encode("utf-8")).hexdigest()[:12]
        self.conn.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}__ix_{digest}" ON "{table}" ({", ".join(exprs)})'
        )
        return True

    def ensure_search(self, collection: str) -> bool:
        """The collection's text index (:mod:`crawler.store.sqlite_search`), built if missing;
        False if the collection does not exist."""
        table = self._table(collection, "items")
        if table is None:
            return False
        ensure_search(self.conn, table, self.tables.transaction)
        return True

    # -- dead letters -----------------------------------------------------------------------

    def dead_page(self, collection: str, limit: int, cursor: str | None) -> Page:
        table = self._table(collection + DEAD_SUFFIX, "dead")
        if table is None:
            return Page([])
        position = decode_cursor(cursor)
        after = 0
        if position is not None:
            if position[0] != "r" or len(position) != 2 or not _rowid(position[1]):
                raise CursorError("cursor of another query")
            after = position[1]
        rows = self.conn.execute(
            f'SELECT rowid, doc FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
            (after, int(limit) + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(["r", rows[-1][0]]) if more and rows else None
        return Page([loads(doc) for _, doc in rows], next_cursor)

    def dead_by_ids(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        table = self._table(collection + DEAD_SUFFIX, "dead")
        if table is None:
            return []
        out = []
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[start : start + _IN_CHUNK])
            marks = ",".join("?" * len(chunk))
            out += [
                loads(doc)
                for (doc,) in self.conn.execute(
                    f'SELECT doc FROM "{table}" WHERE _dead_id IN ({marks}) ORDER BY rowid', chunk
                )
            ]
        return out

    def remove_dead(self, collection: str, ids: Sequence[str]) -> int:
        table = self._table(collection + DEAD_SUFFIX, "dead")
        if table is None or not ids:
            return 0
        removed = 0
        with self.tables.transaction() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = list(ids[start : start + _IN_CHUNK])
                marks = ",".join("?" * len(chunk))
                removed += conn.execute(
                    f'DELETE FROM "{table}" WHERE _dead_id IN ({marks})', chunk
                ).rowcount
        return removed

    # -- change feed ------------------------------------------------------------------------

    def drop_collection(self, collection: str) -> dict[str, int]:
        """Drop the tables of a collection, its history and dead letters, in one transaction:
        all of it goes, or none (:meth:`crawler.store.base.Store.drop_collection`)."""
        counts = dict.fromkeys(("items", "history", "dead"), 0)
        with self.tables.transaction() as conn:
            for kind, name in dropped_parts(collection).items():  # the parts are the kinds
                if (table := self.tables.table(name, kind)) is not None:
                    counts[kind] = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                    conn.execute(f'DROP TABLE "{table}"')  # its indexes and triggers with it
                    if kind == "items":
                        drop_search(conn, table)  # its text index (crawler/store/sqlite_search.py)
                    conn.execute("DELETE FROM _collections WHERE name = ?", (name,))
        return counts

    def changes(
        self, collection: str, limit: int, cursor: str | None, before: str | None = None
    ) -> Page:
        table = self._table(collection, "items")
        if table is None:
            return Page([], cursor)
        expr = field_expr(UPDATED_AT_FIELD)
        position = decode_cursor(cursor)
        where, args = [f"{expr} IS NOT NULL"], []
        if position is not None:
            if len(position) != 2 or not _rowid(position[1]):
                raise CursorError("cursor of another query")
            where.append(f"{expr} >= ? AND ({expr}, rowid) > (?, ?)")
            args += [position[0], *position]
        if before is not None:
            where.append(f"{expr} < ?")
            args.append(before)
        rows = self.conn.execute(
            f'SELECT rowid, {expr}, _key, doc FROM "{table}" WHERE {" AND ".join(where)} '
            f"ORDER BY {expr}, rowid LIMIT ?",
            [*args, int(limit)],
        ).fetchall()
        items = _rows_with_key([(key, doc) for _, _, key, doc in rows])
        next_cursor = encode_cursor([rows[-1][1], rows[-1][0]]) if rows else cursor
        return Page(items, next_cursor)

    # -- run records ------------------------------------------------------------------------

    def runs_page(
        self, rule: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        where, args = (
            ["json_extract(doc, '$.part_of') IS NULL"],
            [],
        )  # a distributed run's workers are parts of its record
        if rule is not None:
            where.append("rule = ?")
            args.append(rule)
        position = decode_cursor(cursor)
        if position is not None:
            if len(position) != 2 or not _rowid(position[1]):
                raise CursorError("cursor of another query")
            where.append("(COALESCE(started_at, ''), rowid) < (?, ?)")
            args += position
        clause = " WHERE " + " AND ".join(where) if where else ""
        rows = self.conn.execute(
            f"SELECT rowid, COALESCE(started_at, ''), doc FROM _runs{clause} "
            "ORDER BY COALESCE(started_at, '') DESC, rowid DESC LIMIT ?",
            [*args, int(limit) + 1],
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1][1], rows[-1][0]]) if more and rows else None
        return [loads(doc) for _, _, doc in rows], next_cursor

    def run_parts(self, run_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT doc FROM _runs WHERE json_extract(doc, '$.part_of') = ? ORDER BY rowid LIMIT ?",
            (run_id, int(limit)),
        )
        return [loads(doc) for (doc,) in rows]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT doc FROM _runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            row = self.conn.execute(
                "SELECT doc FROM _runs WHERE json_extract(doc, '$.schedule_run_id') = ? "
                "OR json_extract(doc, '$.stats.\"schedule/run_id\"') = ? "
                "ORDER BY rowid DESC LIMIT 1",
                (run_id, run_id),
            ).fetchone()
        return loads(row[0]) if row else None
