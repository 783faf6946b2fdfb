"""Reading the PostgreSQL store as the data service does: keyset pages, one item and its
history, dead letters, the change feed, run records (see :mod:`crawler.store.browse`).

A field is read as ``NULLIF(doc -> 'name', 'null'::jsonb)`` (:func:`field_expr`), written as a
literal, so that an index :meth:`PostgresReader.ensure_index` creates on the same expressions
(then ``_id``) serves filters, sorts and the keyset conditions of deep pages alike. A missing
field and a JSON null are both NULL there, as ``json_extract`` reads them in SQLite; values
compare as JSONB (numbers as numbers, ``12`` is not ``"12"``). Nulls are a phase of their own
(:func:`crawler.store.browse.sort_phases`); the tie-breaker is ``_id``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

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
from crawler.store.documents import DEAD_SUFFIX, HISTORY_SUFFIX
from crawler.store.postgres_schema import build_index, doc_json, field_expr, load_doc
from crawler.store.postgres_search import (
    has_search,
    prepare_search,
    search_clauses,
    search_definition,
    search_index,
)

_IN_CHUNK = 1000


def text_expr(name: str) -> str:
    """The SQL of a top-level field's value as text (``->>``)."""
    return "(doc ->> '" + check_field(name).replace("'", "''") + "')"


def _id(value: Any) -> bool:
    """Whether a cursor's tie-breaker is an ``_id`` (an integer, never a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _rows_with_key(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out = []
    for key, doc in rows:
        item = load_doc(doc)
        item[KEY_FIELD] = key
        out.append(item)
    return out


class PostgresTables(Protocol):
    """What the reader asks of :class:`crawler.store.postgres.PostgresStore`."""

    def connection(self) -> AbstractContextManager[Any]: ...

    def schema_change(self) -> AbstractContextManager[Any]: ...

    def table(self, collection: str, kind: str | None = None) -> str | None: ...


class PostgresReader:
    """The PostgreSQL store's :class:`~crawler.store.browse.StoreReader`."""

    def __init__(self, tables: PostgresTables) -> None:
        self.tables = tables

    def _table(self, collection: str, kind: str) -> str | None:
        return self.tables.table(collection, kind)

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.tables.connection() as conn:
            return conn.execute(sql, params).fetchall()

    # -- items ------------------------------------------------------------------------------

    def _item_where(self, table: str, query: ItemQuery) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for name, value in sorted(query.filters.items()):
            if value is None:
                clauses.append(f"{field_expr(name)} IS NULL")
            else:
                clauses.append(f"{field_expr(name)} = %s::jsonb")
                params.append(doc_json(value))
        for name, present in sorted(query.exists.items()):
            clauses.append(f"{field_expr(name)} IS {'NOT ' if present else ''}NULL")
        if query.text is not None:  # built on first use (or by the service's reconciliation)
            self._ensure_search(table)
        search, args = search_clauses(query)  # contains, prefix, text
        clauses += search
        params += args
        crawled = text_expr(CRAWLED_AT_FIELD)
        if query.since:
            clauses.append(f'{crawled} COLLATE "C" >= %s')
            params.append(query.since)
        if query.until:
            clauses.append(f'{crawled} COLLATE "C" < %s')
            params.append(query.until)
        return clauses, params

    def page_items(self, collection: str, query: ItemQuery) -> Page:
        table = self._table(collection, "items")
        if table is None:
            return Page([], None, 0 if query.count else None)
        clauses, params = self._item_where(table, query)
        position = decode_cursor(query.cursor)
        want = query.limit + 1
        count = None
        with self.tables.connection() as conn:
            if query.count:
                where = " WHERE " + " AND ".join(clauses) if clauses else ""
                (count,) = conn.execute(f'SELECT COUNT(*) FROM "{table}"{where}', params).fetchone()
            if query.sort_field is None:
                rows = self._unsorted(conn, table, clauses, params, position, want)
            else:
                rows = self._sorted(conn, table, clauses, params, query, position, want)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        items = _rows_with_key([(key, doc) for _, key, doc in rows])
        next_cursor = encode_cursor(rows[-1][0]) if more and rows else None
        return Page(items, next_cursor, count)

    def _unsorted(
        self,
        conn: Any,
        table: str,
        clauses: list[str],
        params: list[Any],
        position: list[Any] | None,
        want: int,
    ) -> list[tuple[list[Any], str, str]]:
        clauses, params = list(clauses), list(params)
        if position is not None:
            if position[0] != "r" or len(position) != 2 or not _id(position[1]):
                raise CursorError("cursor of another query")
            clauses.append("_id > %s")
            params.append(position[1])
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        sql = f'SELECT _id, _key, doc::text FROM "{table}"{where} ORDER BY _id LIMIT %s'
        rows = conn.execute(sql, [*params, want]).fetchall()
        return [(["r", rowid], key, doc) for rowid, key, doc in rows]

    def _sorted(
        self,
        conn: Any,
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
        # a position in the values' phase holds the value as JSON text (any JSON value sorts)
        if position is not None and (
            len(position) != 3
            or position[0] not in phases
            or not _id(position[2])
            or (position[0] == "v" and not isinstance(position[1], str))
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
                    where.append(f"_id {compare} %s")
                    args.append(after[2])
                order = f"_id {direction}"
            else:
                where.append(f"{expr} IS NOT NULL")
                if after is not None:
                    # The first term lets the index seek; the row value breaks ties.
                    where.append(
                        f"{expr} {compare}= %s::jsonb AND ({expr}, _id) {compare} (%s::jsonb, %s)"
                    )
                    args += [after[1], after[1], after[2]]
                order = f"{expr} {direction}, _id {direction}"
            sql = (
                f'SELECT _id, _key, doc::text, ({expr})::text FROM "{table}" '
                f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s"
            )
            for rowid, key, doc, value in conn.execute(sql, [*args, want - len(rows)]):
                rows.append(([phase, value, rowid], key, doc))
            if len(rows) >= want:
                break
        return rows

    def get_item(self, collection: str, key: str) -> dict[str, Any] | None:
        table = self._table(collection, "items")
        if table is None:
            return None
        rows = self._rows(f'SELECT _key, doc::text FROM "{table}" WHERE _key = %s', (key,))
        return _rows_with_key(rows)[0] if rows else None

    def get_items(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        table = self._table(collection, "items")
        if table is None:
            return {}
        found: dict[str, dict[str, Any]] = {}
        distinct = list(dict.fromkeys(keys))
        for start in range(0, len(distinct), _IN_CHUNK):
            chunk = distinct[start : start + _IN_CHUNK]
            rows = self._rows(
                f'SELECT _key, doc::text FROM "{table}" WHERE _key = ANY(%b::text[])', (chunk,)
            )
            found.update((doc[KEY_FIELD], doc) for doc in _rows_with_key(rows))
        return found

    def item_history(self, collection: str, key: str, limit: int) -> list[dict[str, Any]]:
        table = self._table(collection + HISTORY_SUFFIX, "history")
        if table is None:
            return []
        rows = self._rows(
            f'SELECT _key, doc::text FROM "{table}" WHERE _key = %s ORDER BY _id DESC LIMIT %s',
            (key, int(limit)),
        )
        return _rows_with_key(rows)

    def ensure_index(self, collection: str, fields: Sequence[str]) -> bool:
        table = self._table(collection, "items")
        if table is None:
            return False
        exprs = [field_expr(name) for name in fields]
        digest = hashlib.sha1("\0".join([table, *fields]).encode("utf-8")).hexdigest()[:16]
        build_index(
            self.tables.connection, f"x_{digest}", f'ON "{table}" ({", ".join(exprs)}, _id)'
        )
        return True

    def _ensure_search(self, table: str) -> None:
        """Build the table's trigram index unless it is there (asked each time: a table
        another process dropped and made again has none)."""
        with self.tables.connection() as conn:
            if has_search(conn, table):
                return
        with self.tables.schema_change() as conn:
            prepare_search(conn)  # the extension and the function, once per database
        build_index(self.tables.connection, search_index(table), search_definition(table))

    def ensure_search(self, collection: str) -> bool:
        """The collection's trigram index (:mod:`crawler.store.postgres_search`), built if
        missing; False if the collection does not exist."""
        table = self._table(collection, "items")
        if table is None:
            return False
        self._ensure_search(table)
        return True

    # -- dead letters -----------------------------------------------------------------------

    def dead_page(self, collection: str, limit: int, cursor: str | None) -> Page:
        table = self._table(collection + DEAD_SUFFIX, "dead")
        if table is None:
            return Page([])
        position = decode_cursor(cursor)
        after = 0
        if position is not None:
            if position[0] != "r" or len(position) != 2 or not _id(position[1]):
                raise CursorError("cursor of another query")
            after = position[1]
        rows = self._rows(
            f'SELECT _id, doc::text FROM "{table}" WHERE _id > %s ORDER BY _id LIMIT %s',
            (after, int(limit) + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(["r", rows[-1][0]]) if more and rows else None
        return Page([load_doc(doc) for _, doc in rows], next_cursor)

    def dead_by_ids(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        table = self._table(collection + DEAD_SUFFIX, "dead")
        if table is None:
            return []
        out = []
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[start : start + _IN_CHUNK])
            rows = self._rows(
                f'SELECT doc::text FROM "{table}" WHERE _dead_id = ANY(%b::text[]) ORDER BY _id',
                (chunk,),
            )
            out += [load_doc(doc) for (doc,) in rows]
        return out

    def remove_dead(self, collection: str, ids: Sequence[str]) -> int:
        table = self._table(collection + DEAD_SUFFIX, "dead")
        if table is None or not ids:
            return 0
        with self.tables.connection() as conn:
            cursor = conn.execute(
                f'DELETE FROM "{table}" WHERE _dead_id = ANY(%b::text[])', (list(ids),)
            )
            return cursor.rowcount

    # -- change feed ------------------------------------------------------------------------

    def changes(
        self, collection: str, limit: int, cursor: str | None, before: str | None = None
    ) -> Page:
        table = self._table(collection, "items")
        if table is None:
            return Page([], cursor)
        position = decode_cursor(cursor)
        where, args = ["_updated_at IS NOT NULL"], []
        if position is not None:
            if len(position) != 2 or not isinstance(position[0], str) or not _id(position[1]):
                raise CursorError("cursor of another query")
            where.append("_updated_at >= %s AND (_updated_at, _id) > (%s, %s)")
            args += [position[0], *position]
        if before is not None:
            where.append("_updated_at < %s")
            args.append(before)
        rows = self._rows(
            f'SELECT _id, _updated_at, _key, doc::text FROM "{table}" '
            f"WHERE {' AND '.join(where)} ORDER BY _updated_at, _id LIMIT %s",
            [*args, int(limit)],
        )
        items = _rows_with_key([(key, doc) for _, _, key, doc in rows])
        next_cursor = encode_cursor([rows[-1][1], rows[-1][0]]) if rows else cursor
        return Page(items, next_cursor)

    # -- run records ------------------------------------------------------------------------

    def runs_page(
        self, rule: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        where = [f"{field_expr('part_of')} IS NULL"]  # a distributed run's workers are parts
        args: list[Any] = []
        if rule is not None:
            where.append("rule = %s")
            args.append(rule)
        position = decode_cursor(cursor)
        if position is not None:
            if len(position) != 2 or not isinstance(position[0], str) or not _id(position[1]):
                raise CursorError("cursor of another query")
            where.append("(COALESCE(started_at, ''), _id) < (%s, %s)")
            args += position
        rows = self._rows(
            "SELECT _id, COALESCE(started_at, ''), doc::text FROM _runs "
            f"WHERE {' AND '.join(where)} "
            "ORDER BY COALESCE(started_at, '') DESC, _id DESC LIMIT %s",
            [*args, int(limit) + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1][1], rows[-1][0]]) if more and rows else None
        return [load_doc(doc) for _, _, doc in rows], next_cursor

    def run_parts(self, run_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT doc::text FROM _runs WHERE doc ->> 'part_of' = %s ORDER BY _id LIMIT %s",
            (run_id, int(limit)),
        )
        return [load_doc(doc) for (doc,) in rows]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT doc::text FROM _runs WHERE run_id = %s", (run_id,))
        if not rows:
            rows = self._rows(
                "SELECT doc::text FROM _runs WHERE doc ->> 'schedule_run_id' = %s "
                "OR doc -> 'stats' ->> 'schedule/run_id' = %s ORDER BY _id DESC LIMIT 1",
                (run_id, run_id),
            )
        return load_doc(rows[0][0]) if rows else None
