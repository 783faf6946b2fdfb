"""What a downloaded file must be to be kept, and the file record it becomes.

A file is refused (:class:`Refused`, counted under ``files/refused/<reason>``) when

- ``too_large``: it is bigger than its field's max size (the downloader cuts it off first);
- ``bomb``: it is a zip whose directory declares an absurd uncompressed size (checked before
  anything is extracted, :func:`~crawler.files.sniff.zip_bomb`);
- ``type_mismatch``: its name (Content-Disposition, else URL) claims a type its content is not
  (an HTML page served as ``report.pdf``);
- ``unknown_type``: its content is no type the platform knows, and its name claims none;
- ``type_not_allowed``: its type is not one its field asks for;
- ``too_many`` and ``scheme``: more links than the field takes per item; not http or https.

A kept file is stored once by its SHA-256 (:mod:`crawler.files.store`) and becomes ``{"url",
"name", "type", "size", "sha256", "path"}``, plus ``"text"`` when its field asks for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from crawler.files.sniff import ZipLimits, claims_match, extension, name_type, sniff, zip_bomb
from crawler.files.store import FileStore
from crawler.files.text import TextError, TextLimits, extract_text
from crawler.rules.model import FILE_TYPES, FILE_TYPES_DEFAULT

ZIP_KINDS = ("docx", "xlsx", "pptx", "zip")


class Refused(Exception):
    """A file that is not kept: ``reason`` (a stat key part) and what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FileLimits:
    """The project's bounds (``FILES_*`` settings), whatever a rule asks."""

    default_bytes: int
    limit_bytes: int
    per_item: int
    unzip_bytes: int
    unzip_ratio: float
    unzip_members: int
    text: TextLimits
    memo: int = 256

    @classmethod
    def from_settings(cls, settings: Any) -> FileLimits:
        return cls(
            default_bytes=settings.getint("FILES_MAX_BYTES"),
            limit_bytes=settings.getint("FILES_LIMIT_BYTES"),
            per_item=settings.getint("FILES_PER_ITEM"),
            unzip_bytes=settings.getint("FILES_UNZIP_MAX_BYTES"),
            unzip_ratio=settings.getfloat("FILES_UNZIP_MAX_RATIO"),
            unzip_members=settings.getint("FILES_UNZIP_MAX_MEMBERS"),
            text=TextLimits(
                max_chars=settings.getint("FILES_TEXT_MAX_CHARS"),
                max_pages=settings.getint("FILES_TEXT_MAX_PAGES"),
                max_rows=settings.getint("FILES_TEXT_MAX_ROWS"),
            ),
            memo=settings.getint("FILES_MEMO_URLS"),
        )


@dataclass(frozen=True)
class FilePolicy:
    """One field's ask (what its items carry in ``_files``) within the project's bounds."""

    types: tuple[str, ...]
    max_bytes: int
    text: bool
    max_files: int

    @classmethod
    def of(cls, asked: Mapping[str, Any], limits: FileLimits) -> FilePolicy:
        types = tuple(t for t in asked.get("types") or FILE_TYPES_DEFAULT if t in FILE_TYPES)
        max_bytes = asked.get("max_bytes") or limits.default_bytes
        max_files = asked.get("max_files") or limits.per_item
        return cls(
            types=types or FILE_TYPES_DEFAULT,
            max_bytes=max(1, min(int(max_bytes), limits.limit_bytes)),
            text=bool(asked.get("text")),
            max_files=max(1, min(int(max_files), limits.per_item)),
        )


def examine(data: bytes, name: str, policy: FilePolicy, limits: FileLimits) -> str:
    """The sniffed type of ``data``, a file named ``name``; Refused when it is not kept."""
    if len(data) > policy.max_bytes:
        raise Refused("too_large", f"{len(data):,} bytes, over {policy.max_bytes:,}")
    kind = sniff(data)
    if kind in ZIP_KINDS:
        zip_limits = ZipLimits(
            max_bytes=limits.unzip_bytes,
            max_ratio=limits.unzip_ratio,
            ratio_floor=policy.max_bytes,
            max_members=limits.unzip_members,
        )
        bomb = zip_bomb(data, zip_limits)
        if bomb is not None:
            raise Refused("bomb", f"a decompression bomb: {bomb}")
    claimed = name_type(name)
    if kind not in FILE_TYPES:
        what = kind or "of no known type"
        if claimed is not None:
            raise Refused("type_mismatch", f"named as {claimed}, but its content is {what}")
        raise Refused("unknown_type", f"its content is {what}")
    if not claims_match(claimed, kind):
        raise Refused("type_mismatch", f"named as {claimed}, but its content is {kind}")
    if kind not in policy.types:
        raise Refused(
            "type_not_allowed", f"a {kind} file; the field takes {', '.join(policy.types)}"
        )
    return kind


@dataclass
class Kept:
    record: dict[str, Any]
    new: bool  # written to the store now (else its content was there already)
    text_error: str | None = None


def keep(
    data: bytes,
    name: str,
    policy: FilePolicy,
    limits: FileLimits,
    store: FileStore,
    lock: AbstractContextManager[Any] | None = None,
) -> Kept:
    """Examine, store (once per content) and read ``data``: its record. Refused, or OSError
    from the store. Runs off the reactor's thread: hashing, writing and reading text take time;
    ``lock`` makes "is it there? else write it" one step for the threads of one crawl, so two
    copies of one file fetched at once count one download."""
    kind = examine(data, name, policy, limits)
    sha = hashlib.sha256(data).hexdigest()
    ext = extension(kind)
    with lock or nullcontext():
        new = not store.has(sha, ext)
        path = store.put(sha, ext, data) if new else store.path_of(sha, ext)
    record: dict[str, Any] = {
        "name": name,
        "type": kind,
        "size": len(data),
        "sha256": sha,
        "path": path,
    }
    kept = Kept(record, new)
    if policy.text:
        try:
            text = extract_text(kind, data, limits.text)
        except TextError as exc:
            kept.text_error = str(exc)
        else:
            if text is not None:
                record["text"] = text
    return kept
