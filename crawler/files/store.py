"""The file store: files kept once by content hash, ``<sha256[:2]>/<sha256>.<ext>``.

:class:`FileStore` is the seam (a directory here; object storage later, as another backend):
``put``, ``has``, ``find``, ``open``/``read`` and ``path_of``. A store is chosen by its URI's
scheme through ``FILES_STORE_BACKENDS`` (merged over ``FILES_STORE_BACKENDS_BASE``), as the item
store is through ``STORE_BACKENDS``: ``file:///abs/dir`` or a plain path is a
:class:`DirectoryFileStore`. Paths are always the store's own (made from a checked hash and a
known extension), never a caller's.

>>> is_sha("a" * 64), is_sha("../" + "a" * 61), is_sha("A" * 64)
(True, False, False)
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from crawler.files.sniff import TYPE_OF_EXTENSION

SHA = re.compile(r"[0-9a-f]{64}")


def is_sha(text: str) -> bool:
    """Whether ``text`` is a SHA-256 as the store names files: 64 lowercase hex digits."""
    return isinstance(text, str) and SHA.fullmatch(text) is not None


def relative_path(sha: str, ext: str) -> str:
    """``ab/abcd...ef.pdf``; ValueError for anything but a hash and a known extension."""
    if not is_sha(sha):
        raise ValueError("not a SHA-256 (64 lowercase hex digits)")
    if ext not in TYPE_OF_EXTENSION:
        raise ValueError(f"not an extension the file store keeps: {ext[:20]!r}")
    return f"{sha[:2]}/{sha}.{ext}"


@runtime_checkable
class FileStore(Protocol):
    def put(self, sha: str, ext: str, data: bytes) -> str:
        """Keep ``data`` (whose SHA-256 is ``sha``); its relative path. Idempotent."""

    def has(self, sha: str, ext: str) -> bool: ...

    def find(self, sha: str) -> str | None:
        """The relative path of the file with this hash, whatever its extension; None."""

    def open(self, path: str) -> BinaryIO:
        """A relative path (``path_of``) opened for reading; FileNotFoundError."""

    def read(self, path: str) -> bytes: ...

    def path_of(self, sha: str, ext: str) -> str: ...


class DirectoryFileStore:
    """Files under one directory; written to a temporary file in the same directory and renamed
    into place, so a reader never sees half a file and two writers of the same content agree."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_uri(cls, uri: str) -> DirectoryFileStore:
        parts = urlsplit(uri)
        if parts.scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ValueError(f"file store URI {uri[:100]!r}: a file: URI names no host")
            return cls(unquote(parts.path))
        return cls(uri)

    def path_of(self, sha: str, ext: str) -> str:
        return relative_path(sha, ext)

    def _full(self, path: str) -> Path:
        sha, dot, ext = path.rpartition("/")[2].partition(".")
        if path != relative_path(sha, ext) or not dot:
            raise ValueError("not a path of the file store")
        return self.root / path

    def has(self, sha: str, ext: str) -> bool:
        return self._full(self.path_of(sha, ext)).is_file()

    def find(self, sha: str) -> str | None:
        if not is_sha(sha):
            return None
        folder = self.root / sha[:2]
        for ext in TYPE_OF_EXTENSION:
            if (folder / f"{sha}.{ext}").is_file():
                return f"{sha[:2]}/{sha}.{ext}"
        return None

    def put(self, sha: str, ext: str, data: bytes) -> str:
        path = self.path_of(sha, ext)
        target = self._full(path)
        if target.is_file():
            return path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{sha[:8]}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return path

    def open(self, path: str) -> BinaryIO:
        return self._full(path).open("rb")

    def read(self, path: str) -> bytes:
        with self.open(path) as handle:
            return handle.read()

    def size(self, path: str) -> int:
        return self._full(path).stat().st_size


def scheme_of(uri: str) -> str:
    """A URI's scheme; ``""`` for a plain path (``C:\\\\files`` too: one letter is a drive)."""
    scheme = urlsplit(uri).scheme if "://" in uri or uri.startswith("file:") else ""
    return "" if len(scheme) == 1 else scheme.lower()


def open_file_store(uri: str, backends: dict[str, str]) -> FileStore:
    """The store of ``uri``, by its scheme in ``backends`` (class paths; a class has
    ``from_uri(uri)``). ValueError naming the scheme when none serves it."""
    from scrapy.utils.misc import load_object

    if not uri:
        raise ValueError("FILES_STORE is empty: set it to a directory or a file store URI")
    scheme = scheme_of(uri)
    path = backends.get(scheme)
    if not path:
        known = ", ".join(repr(s or "a path") for s in sorted(backends))
        raise ValueError(f"no file store for scheme {scheme!r} (FILES_STORE_BACKENDS: {known})")
    return load_object(path).from_uri(uri)


def file_store_from_settings(settings: object) -> FileStore:
    """The project's file store (``FILES_STORE``, ``FILES_STORE_BACKENDS``)."""
    backends = settings.getwithbase("FILES_STORE_BACKENDS")  # type: ignore[attr-defined]
    return open_file_store(settings.get("FILES_STORE"), dict(backends))  # type: ignore[attr-defined]
