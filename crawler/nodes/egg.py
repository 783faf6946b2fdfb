"""The project as an egg for Scrapyd: its code and its rules, versioned by their content.

An egg is a zip file with ``EGG-INFO`` metadata; Scrapyd puts it on ``sys.path`` and finds the
settings module through its ``scrapy`` entry point (``settings = crawler.settings``). The egg
holds the project's packages and ``rules/`` (templates, site tables, item types, fixtures); on
the node the rules are unpacked once per version (:mod:`vocab.bundle`). Nothing else of the
checkout goes in: no ``data/``, no tests, no dashboard, no ``.git``.

The version is ``<unix time>_<digest>``: the digest (SHA-256 of every file's path and bytes, 12
hex digits) says what is deployed, so deploying unchanged rules and code is a no-op; the time
keeps Scrapyd's ordering of versions (by name, as they are not PEP 440) the order of
deployment. (Scrapyd keeps versions as file names, turning a ``+`` into ``_``.)
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("crawler", "cleaners", "vocab", "proxies")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
ENTRY_POINTS = "[scrapy]\nsettings = crawler.settings\n"


@dataclass(frozen=True)
class Egg:
    version: str
    digest: str
    data: bytes
    files: int


def bundle_files(root: Path, rules_dir: Path) -> list[tuple[str, Path]]:
    """``(name in the egg, path)`` of every file that goes in, sorted by name."""
    found: list[tuple[str, Path]] = []
    for package in PACKAGES:
        for path in (root / package).rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and not _skipped(relative):
                found.append((relative.as_posix(), path))
    for path in rules_dir.rglob("*"):
        relative = path.relative_to(rules_dir)
        if path.is_file() and not _skipped(relative):
            found.append((f"rules/{relative.as_posix()}", path))
    return sorted(found)


def _skipped(relative: Path) -> bool:
    return bool(SKIPPED_DIRS.intersection(relative.parts)) or relative.suffix in SKIPPED_SUFFIXES


def content_digest(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in files:
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def build_egg(root: Path, rules_dir: Path, now: float | None = None) -> Egg:
    """The egg of the project at ``root`` with the rules of ``rules_dir``."""
    files = bundle_files(root, rules_dir)
    digest = content_digest(files)
    version = f"{int(now if now is not None else time.time())}_{digest}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as egg:
        for name, path in files:
            egg.write(path, name)
        egg.writestr(
            "EGG-INFO/PKG-INFO", f"Metadata-Version: 1.1\nName: crawler\nVersion: {version}\n"
        )
        egg.writestr("EGG-INFO/entry_points.txt", ENTRY_POINTS)
        egg.writestr("EGG-INFO/top_level.txt", "\n".join(PACKAGES) + "\n")
        egg.writestr("EGG-INFO/zip-safe", "\n")
    return Egg(version=version, digest=digest, data=buffer.getvalue(), files=len(files))


def digest_of(version: str) -> str:
    """The content digest of a version this module made ('' for another version).

    >>> digest_of("1733500000_3f2a1b9c0d1e"), digest_of("1.0")
    ('3f2a1b9c0d1e', '')
    """
    return version.partition("_")[2]
