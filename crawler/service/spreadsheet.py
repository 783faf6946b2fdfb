"""Cells a spreadsheet shows and never runs, and the Excel export (``.xlsx``) written with
openpyxl's write-only workbook: a row at a time into a temporary file, then streamed from it,
so neither the collection nor the workbook is ever held in memory.

A text cell (or a column name) that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or
a carriage return: OWASP's list for CSV injection) is written with a ``'`` before it, as in the
CSV export; numbers stay numbers, nested values are JSON text. Excel refuses control characters
(openpyxl raises ``IllegalCharacterError``): each becomes U+FFFD. A cell holds at most 32,767
characters: a longer one is cut and ends with :data:`CUT_MARK`. A sheet holds 1,048,576 rows and
16,384 columns: an export that would pass them stops, its last row saying so.

>>> xlsx_cell('=HYPERLINK("http://x","y")'), xlsx_cell("a" + chr(0) + "b"), xlsx_cell(2.5)
('\\'=HYPERLINK("http://x","y")', 'a\\ufffdb', 2.5)
>>> xlsx_cell({"k": [1, 2]}), xlsx_cell(None), xlsx_cell(True), xlsx_cell(2**60)
('{"k":[1,2]}', None, True, '1152921504606846976')
>>> cell = xlsx_cell("x" * 40_000); len(cell), cell.endswith(CUT_MARK)
(32767, True)
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.store import dumps

# The characters an .xlsx cell may not hold (openpyxl's ILLEGAL_CHARACTERS_RE, which raises on them).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

logger = logging.getLogger(__name__)

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXCEL_ROWS = 1_048_576  # rows of a sheet, the header included
EXCEL_COLUMNS = 16_384
CELL_MAX = 32_767  # characters of a cell (UTF-16 code units)
CUT_MARK = "…[cut: over 32,767 characters]"
EXACT_INT = 2**53  # integers past it lose digits as Excel numbers: written as text
_CHUNK = 64 * 1024


def neutral(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(text: str) -> str:
    """``text`` without the characters Excel refuses, at most :data:`CELL_MAX` long."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if len(text) <= CELL_MAX // 2:  # short enough whatever its UTF-16 length
        return text
    units = text.encode("utf-16-le")
    if len(units) <= 2 * CELL_MAX:
        return text
    keep = 2 * (CELL_MAX - len(CUT_MARK))
    return units[:keep].decode("utf-16-le", errors="ignore") + CUT_MARK


def xlsx_cell(value: Any) -> Any:
    """A document's value as an Excel cell: numbers and booleans as they are, text cleaned."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= EXACT_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict | list):
        return _text(dumps(value))  # starts with { or [
    return _text(neutral(_text(str(value))))


@dataclass(frozen=True)
class Written:
    """What :func:`write_xlsx` wrote: data rows, and whether rows or columns were left out."""

    rows: int
    rows_cut: bool = False
    columns_cut: int = 0


def write_xlsx(path: Path, columns: list[str], docs: Iterable[dict[str, Any]]) -> Written:
    """Write ``docs`` (one row each, ``columns`` in order) to the workbook ``path``."""
    shown = columns[:EXCEL_COLUMNS]
    columns_cut = len(columns) - len(shown)
    room = EXCEL_ROWS - 1 - (1 if columns_cut else 0)  # data rows under the header (and note)
    from openpyxl import Workbook  # here: every scrapy command would load it (~0.1 s) otherwise

    book = Workbook(write_only=True)
    sheet = book.create_sheet("items")
    sheet.append([xlsx_cell(str(c)) for c in shown])
    rows, rows_cut = 0, False
    remaining = iter(docs)
    for doc in remaining:
        if rows == room - 1 and next(remaining, None) is not None:
            rows_cut = True  # the last row left is the note's
            break
        sheet.append([xlsx_cell(doc.get(c)) for c in shown])
        rows += 1
    if rows_cut or columns_cut:
        sheet.append([_note(rows, rows_cut, columns_cut)])
    book.save(path)
    return Written(rows, rows_cut, columns_cut)


def _note(rows: int, rows_cut: bool, columns_cut: int) -> str:
    parts = []
    if rows_cut:
        parts.append(
            f"export stopped after {rows:,} rows: an Excel sheet holds {EXCEL_ROWS:,} rows"
        )
    if columns_cut:
        parts.append(
            f"{columns_cut:,} columns left out: an Excel sheet holds {EXCEL_COLUMNS:,} columns"
        )
    return "; ".join(parts) + " (narrow it with filters, or export CSV or JSON Lines)"


def spooled_xlsx(
    columns: Callable[[], list[str]], docs: Callable[[], Iterator[dict[str, Any]]], name: str
) -> Iterator[bytes]:
    """The workbook of ``docs`` as body chunks: written to a temporary file first (a zip is
    finished only at its end), streamed from it, deleted after (or when the client leaves)."""
    handle, spool = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(handle)
    path = Path(spool)
    try:
        written = write_xlsx(path, columns(), docs())
        if written.rows_cut or written.columns_cut:
            logger.warning(
                "Excel export of %s cut: %s",
                name,
                _note(written.rows, written.rows_cut, written.columns_cut),
            )
        with path.open("rb") as spooled:
            while chunk := spooled.read(_CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)
