"""Text search in the PostgreSQL store: a trigram index (``pg_trgm``) on the text of each item.

The text of an item is what SQLite indexes (:mod:`crawler.store.sqlite_search`): its top-level
string values, store fields (``_...``) left out, cut at :data:`TEXT_CHARS`; here written as a
JSON array of those strings (searched words are escaped the same way, :func:`json_escaped`),
computed by the SQL function ``crawler_item_text(doc)`` (IMMUTABLE, so an index can hold it). PostgreSQL's full-text search splits words on spaces and cannot split
Chinese; trigrams find substrings in any script, as SQLite's ``trigram`` tokenizer does.

:func:`prepare_search` creates the extension (``CREATE EXTENSION pg_trgm``:
postgresql-contrib, a trusted extension a database owner may create) and the function; the
reader then builds a GIN index ``s_<table>`` on ``crawler_item_text(doc) gin_trgm_ops``
(:func:`search_definition`, ``CREATE INDEX CONCURRENTLY``: writers go on meanwhile): on first
search of a collection, or when the data service reconciles its indexes. The index is the table's own: PostgreSQL keeps it
in step with every writer, in the writer's transaction, and drops it with the table.

A query's words must all be in an item (AND), each an ``ILIKE '%word%'`` (any case) on the
item's text: words of 3 characters or more are served by the index, shorter ones (``红色``)
cannot be (a trigram index has nothing shorter) and are checked on the rows the others found,
or on every row when the query has no longer word. ``contains`` is ``ILIKE`` on one text
field, ``prefix`` a ``starts_with`` (exact case).
"""

from __future__ import annotations

import json
from typing import Any

from crawler.store.browse import ItemQuery, check_field, like_escape, text_terms

#: Characters of an item's text that are indexed.
TEXT_CHARS = 4000
TEXT_FUNCTION = "crawler_item_text"
# One expression, no FROM: PostgreSQL inlines the function into the query and the index, and
# evaluates it about 2.5 times faster than a jsonb_each() and string_agg() over the document
# (measured on 200,000 items: a scan of the text in 1.0 s against 2.6 s).
_FUNCTION_SQL = (
    f"CREATE OR REPLACE FUNCTION {TEXT_FUNCTION}(doc jsonb) RETURNS text "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT left(jsonb_path_query_array(doc, "
    '\'$.keyvalue() ? (@.value.type() == "string" && !(@.key starts with "_")).value\')'
    f"::text, {TEXT_CHARS}) $$"
)


def json_escaped(term: str) -> str:
    """``term`` as it is written inside a JSON string (the item's text is a JSON array of its
    strings, escaped as JSON): quotes, backslashes and control characters escaped.

    >>> json_escaped("红色"), len(json_escaped('a"b'))  # the quote gains a backslash
    ('红色', 4)
    """
    return json.dumps(term, ensure_ascii=False)[1:-1]


def search_index(table: str) -> str:
    return f"s_{table}"


def has_search(conn: Any, table: str) -> bool:
    """Whether ``table``'s trigram index is there, and valid (built to the end)."""
    row = conn.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
        (f'"{search_index(table)}"',),
    ).fetchone()
    return bool(row and row[0])


def prepare_search(conn: Any) -> None:
    """The extension and the text function, unless there (in ``conn``'s transaction, which
    holds the store's schema lock)."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    exists = conn.execute(
        "SELECT 1 FROM pg_proc WHERE proname = %s AND pg_function_is_visible(oid)",
        (TEXT_FUNCTION,),
    ).fetchone()
    if exists is None:
        conn.execute(_FUNCTION_SQL)


def search_definition(table: str) -> str:
    """What follows ``CREATE INDEX name`` for ``table``'s trigram index."""
    return f'ON "{table}" USING gin ({TEXT_FUNCTION}(doc) gin_trgm_ops)'


def drop_search(conn: Any, table: str) -> None:
    """Nothing to do beyond dropping the table: its index goes with it (kept for symmetry
    with :func:`crawler.store.sqlite_search.drop_search`)."""


def text_clauses(text: str) -> tuple[list[str], list[Any]]:
    """SQL conditions: the item's text holds every word of ``text``.

    >>> text_clauses("red 红色")[1]
    ['%red%', '%红色%']
    """
    clauses, params = [], []
    for term in text_terms(text):
        clauses.append(f"{TEXT_FUNCTION}(doc) ILIKE %s")
        params.append(f"%{like_escape(json_escaped(term))}%")
    return clauses, params


def search_clauses(query: ItemQuery) -> tuple[list[str], list[Any]]:
    """SQL conditions and their parameters for the contains, prefix and text parts of
    ``query``."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, part in sorted(query.contains.items()):
        literal = "'" + check_field(name).replace("'", "''") + "'"
        clauses.append(f"jsonb_typeof(doc -> {literal}) = 'string' AND doc ->> {literal} ILIKE %s")
        params.append(f"%{like_escape(part)}%")
    for name, start in sorted(query.prefix.items()):
        literal = "'" + check_field(name).replace("'", "''") + "'"
        clauses.append(
            f"jsonb_typeof(doc -> {literal}) = 'string' AND starts_with(doc ->> {literal}, %s)"
        )
        params.append(start)
    if query.text is not None:
        more, args = text_clauses(query.text)
        clauses += more
        params += args
    return clauses, params
