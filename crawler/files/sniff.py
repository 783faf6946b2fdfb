"""What a file is, from its content alone: magic bytes, and for zip-based office files the
names inside the zip; never its extension nor the Content-Type it was sent with.

- PDF (``%PDF-``), OLE2 compound files (``D0 CF 11 E0 A1 B1 1A E1``: doc, xls or ppt by the
  stream names in their directory), zip files (docx, xlsx or pptx by ``[Content_Types].xml``
  and their main part; any other zip is ``zip``), PNG, JPEG, GIF and WebP images;
- ``html`` and ``text`` are sniffed too, only to say what a file is instead (an error page
  served as ``report.pdf``): they are never kept.

A zip's directory is read (``zipfile``: the central directory only, nothing inflated) to tell
its kind and to refuse a decompression bomb before anything extracts it: members whose
declared sizes add up beyond a bound, or inflate too many times over.

>>> sniff(b"%PDF-1.7 ..."), sniff(b"\\x89PNG\\r\\n\\x1a\\n..."), sniff(b"<!DOCTYPE html><p>no")
('pdf', 'png', 'html')
>>> name_type("Report 2024.PDF"), name_type("data.jpg"), name_type("download.php")
('pdf', 'jpeg', None)
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip's directory end
IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
# Stream names in an OLE2 directory (UTF-16LE), first match wins.
OLE2_STREAMS = (
    ("WordDocument".encode("utf-16-le"), "doc"),
    ("Workbook".encode("utf-16-le"), "xls"),
    ("Book".encode("utf-16-le"), "xls"),
    ("PowerPoint Document".encode("utf-16-le"), "ppt"),
)
# The main part of each OOXML kind (its [Content_Types].xml lists it too).
OOXML = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "xlsx"),
    ("ppt/presentation.xml", "pptx"),
)

#: Extensions by the type they claim; a name with another extension claims nothing.
EXTENSIONS = {
    "pdf": "pdf",
    "doc": "doc",
    "docx": "docx",
    "xls": "xls",
    "xlsx": "xlsx",
    "ppt": "ppt",
    "pptx": "pptx",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "gif": "gif",
    "webp": "webp",
    "zip": "zip",
}
#: The extension a stored file gets, by type.
EXTENSION_OF = {"jpeg": "jpg"}
#: A name claiming one of these may hold any of its types (a .zip may be a docx).
COMPATIBLE = {"zip": {"zip", "docx", "xlsx", "pptx"}}
#: Content types the data service serves each type with.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "zip": "application/zip",
}
TYPE_OF_EXTENSION = {EXTENSION_OF.get(t, t): t for t in CONTENT_TYPES}


def extension(kind: str) -> str:
    """The extension a file of type ``kind`` is stored with (``jpeg`` -> ``jpg``)."""
    return EXTENSION_OF.get(kind, kind)


def name_type(name: str) -> str | None:
    """The type a file name claims by its extension, or None."""
    _, dot, ext = name.rpartition(".")
    return EXTENSIONS.get(ext.lower()) if dot else None


def claims_match(claimed: str | None, kind: str) -> bool:
    """Whether content of type ``kind`` is what a name claiming ``claimed`` promised."""
    return claimed is None or kind == claimed or kind in COMPATIBLE.get(claimed, ())


def sniff(data: bytes) -> str | None:
    """The type of ``data`` from its content; None when it is none the platform knows."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(OLE2):
        return _ole2_kind(data)
    if head.startswith(ZIP):
        return zip_kind(data)
    for magic, kind in IMAGES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return _text_kind(data[:1024])


def _ole2_kind(data: bytes) -> str | None:
    for name, kind in OLE2_STREAMS:
        if name in data:
            return kind
    return None


def _text_kind(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<")):
        return "html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text" if head else None


def zip_kind(data: bytes) -> str | None:
    """docx, xlsx, pptx or zip by the names in the zip's directory; None if it is no zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return None
    if "[Content_Types].xml" in names:
        for part, kind in OOXML:
            if part in names:
                return kind
    return "zip"


@dataclass(frozen=True)
class ZipLimits:
    max_bytes: int  # declared uncompressed total, whatever the ratio
    max_ratio: float  # declared total over the file's size...
    ratio_floor: int  # ...refused only when the total is also beyond this (the file's bound)
    max_members: int


def zip_bomb(data: bytes, limits: ZipLimits) -> str | None:
    """Why the zip ``data`` is a decompression bomb, from the sizes its directory declares
    (nothing is inflated); None when it is not one, or no readable zip. zipfile never inflates
    a member beyond its declared size, so the declared sizes bound any later extraction."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return None
    if len(members) > limits.max_members:
        return f"{len(members):,} members (at most {limits.max_members:,})"
    total = sum(m.file_size for m in members)
    if total > limits.max_bytes:
        return f"declares {total:,} bytes uncompressed (at most {limits.max_bytes:,})"
    ratio = total / max(len(data), 1)
    if ratio > limits.max_ratio and total > limits.ratio_floor:
        return (
            f"declares {total:,} bytes uncompressed, {ratio:,.0f} times its {len(data):,} "
            f"bytes (at most {limits.max_ratio:g} times beyond {limits.ratio_floor:,} bytes)"
        )
    return None
