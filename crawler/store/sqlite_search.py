"""Text search in the embedded store: one FTS5 table per items table, kept in sync by triggers.

``{table}__fts`` holds, under the item's row id, the text of the document: its top-level string
values, store fields (``_...``) left out, joined by new lines and cut at :data:`TEXT_CHARS`.
Every top-level string rather than an item type's fields: the store does not know item types
(a collection may have none, or several over time), and a value's name does not say whether
someone will search for it. The ``trigram`` tokenizer indexes every 3 characters, so a search
finds substrings, in any script (Chinese has no spaces to split words on).

Triggers on the items table (after insert, delete, and update of ``doc``) keep the index in
step with every writer, in the writer's transaction. :func:`ensure_search` creates the table
and the triggers, and fills the table from the items, in one transaction: on first search, or
when the data service reconciles its indexes. A collection dropped and created again loses its
triggers with its table; the next :func:`ensure_search` finds them missing and builds again.

A query's words must all be in an item (AND). Words of 3 characters or more go to ``MATCH``
(the index); shorter ones (``红色``, ``ok``) cannot, the trigram index has nothing shorter than
3, and are read with ``LIKE`` over the indexed text (a scan of the index's text, not of the
documents). Both ignore ASCII case.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from crawler.store.browse import ItemQuery, check_field, like_escape, text_terms

#: Characters of an item's text that are indexed.
TEXT_CHARS = 4000
_TRIGRAM = 3
# Above every character: ``value < prefix + _TOP`` holds for every value starting with prefix.
_TOP = "\U0010ffff"


def fts_table(table: str) -> str:
    return f"{table}__fts"


def _text_of(doc: str) -> str:
    """SQL: the indexed text of document ``doc`` (an SQL expression)."""
    return (
        "substr(COALESCE((SELECT group_concat(value, char(10)) FROM json_each("
        + doc
        + ") WHERE type = 'text' AND substr(key, 1, 1) <> '_'), ''), 1, "
        + str(TEXT_CHARS)
        + ")"
    )


def _triggers(table: str) -> list[str]:
    fts = fts_table(table)
    insert = f'INSERT INTO "{fts}" (rowid, text) VALUES (NEW.rowid, {_text_of("NEW.doc")});'
    delete = f'DELETE FROM "{fts}" WHERE rowid = OLD.rowid;'
    return [
        f'CREATE TRIGGER "{table}__fts_ai" AFTER INSERT ON "{table}" BEGIN {insert} END',
        f'CREATE TRIGGER "{table}__fts_ad" AFTER DELETE ON "{table}" BEGIN {delete} END',
        f'CREATE TRIGGER "{table}__fts_au" AFTER UPDATE OF doc ON "{table}" '
        f"BEGIN {delete} {insert} END",
    ]


def has_search(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table``'s text index is there and kept in sync (its last trigger exists)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (f"{table}__fts_au",)
    ).fetchone()
    return row is not None


def ensure_search(
    conn: sqlite3.Connection,
    table: str,
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
) -> bool:
    """Build ``table``'s text index unless it is there; True when it was built now."""
    if has_search(conn, table):
        return False
    fts = fts_table(table)
    with transaction() as tx:
        if has_search(tx, table):  # another process built it meanwhile
            return False
        tx.execute(
            f'CREATE VIRTUAL TABLE IF NOT EXISTS "{fts}" USING fts5(text, tokenize = "trigram")'
        )
        tx.execute(f'DELETE FROM "{fts}"')  # left by a dropped table of the same name
        tx.execute(
            f'INSERT INTO "{fts}" (rowid, text) SELECT rowid, {_text_of("doc")} FROM "{table}"'
        )
        for sql in _triggers(table):
            tx.execute(sql)
    return True


def drop_search(conn: sqlite3.Connection, table: str) -> None:
    """Remove ``table``'s text index (for whoever drops the table; its triggers go with it)."""
    conn.execute(f'DROP TABLE IF EXISTS "{fts_table(table)}"')


def text_clause(table: str, text: str) -> tuple[str, list[Any]]:
    """``rowid IN (...)``: the items of ``table`` holding every word of ``text``.

    >>> text_clause("c_t", "red shoe 红色")[1]
    ['"red" AND "shoe"', '%红色%']
    """
    terms = text_terms(text)
    fts = fts_table(table)
    where: list[str] = []
    params: list[Any] = []
    long = [term for term in terms if len(term) >= _TRIGRAM]
    if long:
        where.append(f'"{fts}" MATCH ?')
        params.append(" AND ".join('"' + term.replace('"', '""') + '"' for term in long))
    for term in terms:
        if len(term) < _TRIGRAM:
            where.append("text LIKE ? ESCAPE '\\'")
            params.append(f"%{like_escape(term)}%")
    return f'rowid IN (SELECT rowid FROM "{fts}" WHERE {" AND ".join(where)})', params


def search_clauses(table: str, query: ItemQuery) -> tuple[list[str], list[Any]]:
    """SQL conditions and their parameters for the contains, prefix and text parts of
    ``query``: contains is ``LIKE`` on text values (wildcards escaped; ASCII case ignored),
    prefix a range (exact case), which an index on the field serves."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, part in sorted(query.contains.items()):
        path = "'$.\"" + check_field(name).replace("'", "''") + "\"'"
        clauses.append(
            f"json_type(doc, {path}) = 'text' AND json_extract(doc, {path}) LIKE ? ESCAPE '\\'"
        )
        params.append(f"%{like_escape(part)}%")
    for name, start in sorted(query.prefix.items()):
        expr = "json_extract(doc, '$.\"" + check_field(name).replace("'", "''") + "\"')"
        clauses.append(f"{expr} >= ? AND {expr} < ?")
        params += [start, start + _TOP]
    if query.text is not None:
        clause, args = text_clause(table, query.text)
        clauses.append(clause)
        params += args
    return clauses, params
