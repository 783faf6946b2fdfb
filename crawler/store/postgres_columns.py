"""Typed columns in the PostgreSQL store: the fields of a collection's item type beside ``doc``.

``doc`` (JSONB) holds every document whole; for SQL users and BI tools, each field of the item
type the collection is stored from (:attr:`crawler.store.base.StoreTarget.columns`, field ->
JSON-schema type) also gets a column of its own type:

=========================  ====================
JSON-schema type            column
=========================  ====================
string (date-time, date…)  text (ISO text sorts as time does; cast it with ``::timestamptz``)
integer                    bigint
number                     double precision
boolean                    boolean
array, object              jsonb
=========================  ====================

The columns are generated (``GENERATED ALWAYS AS (...) STORED``) from ``doc``: every writer
fills them, in any process, with no code of ours on the way, and a value of another type
(text in an integer field) leaves the column NULL instead of failing the batch. An item type
that gains a field migrates its table: ``ALTER TABLE ... ADD COLUMN`` (PostgreSQL computes it
for the rows already there); a field whose type changed gets its column again. Columns of
fields the item type no longer has stay. What was applied is recorded in
``_collections.columns``. Date-times stay text: converting text to ``timestamptz`` depends on
the session's time zone, which a generated column may not.

Names that are not columns: those starting with ``_``, ``doc``, and names longer than
PostgreSQL's 63 bytes (their values stay in ``doc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

#: Column types by JSON-schema type (:data:`crawler.store.base.COLUMN_TYPES`).
SQL_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "array": "jsonb",
    "object": "jsonb",
}
_MAX_NAME_BYTES = 63


def usable(columns: Mapping[str, str]) -> dict[str, str]:
    """The declared columns that can be columns (see the module docstring), by name.

    >>> usable({"price": "number", "_url": "string", "doc": "string", "x": "null"})
    {'price': 'number'}
    """
    return {
        name: kind
        for name, kind in sorted(columns.items())
        if kind in SQL_TYPES
        and name
        and not name.startswith("_")
        and name != "doc"
        and "\0" not in name
        and len(name.encode("utf-8")) <= _MAX_NAME_BYTES
    }


def column_expr(name: str, kind: str) -> str:
    """The SQL computing column ``name`` of JSON-schema type ``kind`` from ``doc``; NULL for a
    value of another type.

    >>> column_expr("n", "boolean")
    "CASE WHEN jsonb_typeof(doc -> 'n') = 'boolean' THEN (doc -> 'n')::boolean END"
    """
    value = "doc -> '" + name.replace("'", "''") + "'"
    text = "doc ->> '" + name.replace("'", "''") + "'"
    typeof = f"jsonb_typeof({value})"
    if kind == "string":
        return f"CASE WHEN {typeof} IN ('string', 'number', 'boolean') THEN {text} END"
    if kind == "integer":
        return (
            f"CASE WHEN {typeof} = 'number' AND {text} ~ '^-?[0-9]{{1,18}}([.]0*)?$' "
            f"THEN ({text})::numeric::bigint END"
        )
    if kind == "number":
        return (
            f"CASE WHEN {typeof} = 'number' AND abs(({text})::numeric) < 1e300 "
            f"THEN ({text})::double precision END"
        )
    if kind == "boolean":
        return f"CASE WHEN {typeof} = 'boolean' THEN ({value})::boolean END"
    return f"CASE WHEN {typeof} = '{kind}' THEN {value} END"


class ColumnTables(Protocol):
    """What :class:`Columns` asks of :class:`crawler.store.postgres.PostgresStore`."""

    def schema_change(self) -> AbstractContextManager[Any]: ...

    def table(self, collection: str, kind: str | None = None) -> str | None: ...


class Columns:
    """The typed columns a store was told about, added to the tables that lack them."""

    def __init__(self, tables: ColumnTables) -> None:
        self.tables = tables
        self._wanted: dict[str, dict[str, str]] = {}
        #: collection -> (its table, the columns ``_collections`` says it has), as the store
        #: last read them (before each batch: a table another process made again is seen)
        self.recorded: dict[str, tuple[str, dict[str, str]]] = {}

    def declare(self, collection: str, columns: Mapping[str, str]) -> None:
        """Columns for ``collection`` (field -> JSON type): added now if its table exists,
        else when the store creates it."""
        wanted = usable(columns)
        if not wanted or self._wanted.get(collection) == wanted:
            return
        self._wanted[collection] = wanted
        table = self.tables.table(collection, "items")  # reads what is recorded, too
        if table is not None:
            self.apply(collection, table)

    def apply(self, collection: str, table: str) -> None:
        """Add the declared columns ``table`` lacks (one ALTER TABLE, under the schema lock)."""
        wanted = self._wanted.get(collection)
        if not wanted:
            return
        known_table, known = self.recorded.get(collection, ("", {}))
        if known_table == table and all(known.get(n) == k for n, k in wanted.items()):
            return
        from psycopg.types.json import Jsonb

        with self.tables.schema_change() as conn:
            row = conn.execute(
                "SELECT columns FROM _collections WHERE name = %s AND table_name = %s",
                (collection, table),
            ).fetchone()
            if row is None:
                return  # dropped meanwhile: applied when it is made again
            recorded = dict(row[0] or {})
            changes = []
            for name, kind in wanted.items():
                if recorded.get(name) == kind:
                    continue
                quoted = '"' + name.replace('"', '""') + '"'
                if name in recorded:  # its type changed: the column is made again
                    changes.append(f"DROP COLUMN IF EXISTS {quoted}")
                changes.append(
                    f"ADD COLUMN IF NOT EXISTS {quoted} {SQL_TYPES[kind]} "
                    f"GENERATED ALWAYS AS ({column_expr(name, kind)}) STORED"
                )
                recorded[name] = kind
            if changes:
                conn.execute(f'ALTER TABLE "{table}" ' + ", ".join(changes))
                conn.execute(
                    "UPDATE _collections SET columns = %s WHERE name = %s",
                    (Jsonb(recorded), collection),
                )
        self.recorded[collection] = (table, recorded)
