"""Streamed exports of a collection: JSON Lines, CSV, one JSON array or an Excel workbook
(:mod:`crawler.service.spreadsheet`), written page by page (keyset cursors), so the service
never holds the collection in memory.

CSV and Excel need their columns first: a first pass collects the field names (only the names
are kept), a second writes the rows; nested values are written as JSON text. A spreadsheet opening the file
would run a cell that starts like a formula (``=HYPERLINK("http://x","y")``, ``+``, ``-``,
``@``, a tab or a carriage return: OWASP's list for CSV injection), so such a text cell, and
such a column name, is written with a ``'`` before it (OWASP's advice); numbers stay numbers.

>>> print(_cell('=HYPERLINK("http://x","y")'), _cell("-1+2"), _cell("@SUM(A1)"))
'=HYPERLINK("http://x","y") '-1+2 '@SUM(A1)
>>> _cell(chr(9) + "=1") == "'" + chr(9) + "=1", _cell(chr(13) + "=1")[0]
(True, "'")
>>> _cell("a=b"), _cell(-3), _cell({"k": "=1"}), _cell(None)
('a=b', -3, '{"k":"=1"}', '')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from crawler.service.spreadsheet import FORMULA_STARTS, XLSX_MEDIA, neutral, spooled_xlsx
from crawler.store import ItemQuery, Store, dumps

__all__ = ["EXPORT_FORMATS", "FORMULA_STARTS", "MEDIA_TYPES", "export_stream", "neutral"]

EXPORT_FORMATS = ("jsonl", "csv", "json", "xlsx")
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": XLSX_MEDIA,
}
_FLUSH_BYTES = 64 * 1024


def documents(get_store: Callable[[], Store], collection: str, query: ItemQuery) -> Iterator[dict]:
    cursor = None
    while True:
        page = get_store().page_items(collection, replace(query, cursor=cursor, count=False))
        yield from page.items
        if page.next is None:
            return
        cursor = page.next


def _buffered(pieces: Iterator[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= _FLUSH_BYTES:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def _jsonl(docs: Iterator[dict]) -> Iterator[str]:
    for doc in docs:
        yield dumps(doc) + "\n"


def _json(docs: Iterator[dict]) -> Iterator[str]:
    yield "["
    first = True
    for doc in docs:
        yield ("\n" if first else ",\n") + dumps(doc)
        first = False
    yield "\n]\n"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value)  # starts with { or [
    if isinstance(value, str):
        return neutral(value)
    return value


def column_names(get_store: Callable[[], Store], collection: str, query: ItemQuery) -> list[str]:
    """The first pass: every field name, ``_key`` first, then in the order first seen."""
    names: dict[str, None] = {"_key": None}
    for doc in documents(get_store, collection, query):
        for name in doc:
            names.setdefault(name, None)
    return list(names)


def _csv(get_store: Callable[[], Store], collection: str, query: ItemQuery) -> Iterator[str]:
    columns = column_names(get_store, collection, query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutral(c) for c in columns])
    for doc in documents(get_store, collection, query):
        writer.writerow([_cell(doc.get(c)) for c in columns])
        if out.tell() >= _FLUSH_BYTES:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def export_stream(
    get_store: Callable[[], Store], collection: str, query: ItemQuery, fmt: str
) -> tuple[str, Iterator[bytes]]:
    """``(media type, body chunks)`` of an export."""
    if fmt == "csv":
        return MEDIA_TYPES[fmt], _buffered(_csv(get_store, collection, query))
    if fmt == "xlsx":
        columns = lambda: column_names(get_store, collection, query)  # noqa: E731
        rows = lambda: documents(get_store, collection, query)  # noqa: E731
        return MEDIA_TYPES[fmt], spooled_xlsx(columns, rows, collection)
    docs = documents(get_store, collection, query)
    pieces = _jsonl(docs) if fmt == "jsonl" else _json(docs)
    return MEDIA_TYPES[fmt], _buffered(pieces)
