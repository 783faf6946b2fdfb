"""The text of a file, bounded: pypdf for PDF, python-docx for DOCX, openpyxl (read-only) for
XLSX; other types have none. Each library is imported here, when a file needs it, never at a
command's start (tests/test_architecture.py).

Bounds: at most ``max_chars`` characters (reading stops there), ``max_pages`` PDF pages and
``max_rows`` spreadsheet rows. A zip-based file reaches this only after its directory passed the
bomb check (:func:`crawler.files.sniff.zip_bomb`), and zipfile inflates no member beyond its
declared size.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

READABLE = ("pdf", "docx", "xlsx")


@dataclass(frozen=True)
class TextLimits:
    max_chars: int
    max_pages: int
    max_rows: int


class TextError(Exception):
    """The file's text could not be read (the file is kept, without text)."""


def extract_text(kind: str, data: bytes, limits: TextLimits) -> str | None:
    """The text of a file of type ``kind``; None for a type without text. TextError when the
    library fails on it."""
    if kind not in READABLE:
        return None
    if limits.max_chars <= 0:
        return ""
    read = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx}[kind]
    try:
        return _bounded(read(data, limits), limits.max_chars)
    except Exception as exc:  # a library's error on a broken file: any type
        raise TextError(f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _bounded(parts: Iterable[str], max_chars: int) -> str:
    out: list[str] = []
    size = 0
    for part in parts:
        if not part:
            continue
        out.append(part)
        size += len(part) + 1
        if size >= max_chars:
            break
    return "\n".join(out)[:max_chars].strip()


def _pdf(data: bytes, limits: TextLimits) -> Iterator[str]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # one line per odd object otherwise
    reader = PdfReader(io.BytesIO(data))
    for number, page in enumerate(reader.pages):
        if number >= limits.max_pages:
            break
        yield page.extract_text() or ""


def _docx(data: bytes, limits: TextLimits) -> Iterator[str]:
    from docx import Document

    document = Document(io.BytesIO(data))
    for paragraph in document.paragraphs:
        yield paragraph.text
    for table in document.tables:
        for row in table.rows:
            yield "\t".join(cell.text for cell in row.cells)


def _xlsx(data: bytes, limits: TextLimits) -> Iterator[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = 0
        for sheet in workbook.worksheets:
            yield f"# {sheet.title}"
            for row in sheet.iter_rows(values_only=True):
                rows += 1
                if rows > limits.max_rows:
                    return
                cells = ["" if v is None else str(v) for v in row]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    yield "\t".join(cells)
    finally:
        workbook.close()
