"""The page archive's file: one SQLite database per rule, ``<ARCHIVE_DIR>/<rule>.sqlite``.

One row per page, keyed by its request (the URL, plus the method and a digest of the body for
anything but a bodiless GET): the latest fetch replaces an earlier one, so the archive keeps
the latest copy of each page. A row holds the URL asked for and the one answered, the status,
the headers that decode the body (``Content-Type``, ``Content-Language``), the page type, what
the request carried that extraction reads (:data:`crawler.archive.middleware.META_KEPT`), when
it was fetched, and the body; body and meta are compressed (zlib), and ``size`` counts what the
row holds. Each write is one transaction that also applies the bounds: pages older than the
maximum age go, then the oldest pages until the archive is within its maximum size.

The file is WAL (a crawl writes while a backfill reads) with incremental vacuum, so dropped
pages give their room back. A rule never names the file: its name comes from the rule's name,
sanitised, under the project's ``ARCHIVE_DIR``.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

FORMAT = "1"
CODEC = "zlib"
LEVEL = 6  # zlib's default: a 60 KB page in about a millisecond, to about a fifth
ROW_OVERHEAD = 64  # bytes a row costs besides its texts and blobs (about)
READ_CHUNK = 100
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS

SCHEMA = """
CREATE TABLE IF NOT EXISTS archive (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    fetched_at REAL NOT NULL,
    size INTEGER NOT NULL,
    status INTEGER NOT NULL,
    page TEXT NOT NULL,
    url TEXT NOT NULL,
    final_url TEXT NOT NULL,
    codec TEXT NOT NULL,
    meta BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_by_age ON pages (fetched_at, size);
"""


class ArchiveError(Exception):
    """The archive cannot be opened or read as one (not there, another rule's, corrupt)."""


@dataclass(frozen=True)
class Bounds:
    max_bytes: int
    max_age: float  # seconds


@dataclass(frozen=True)
class PageRecord:
    """One fetched page, as the crawl saw it (the body uncompressed), or as read back."""

    key: str
    url: str  # asked for
    final_url: str  # answered (after redirects)
    status: int
    headers: dict[str, str]
    page: str  # the page type that parsed it
    meta: dict[str, Any]  # what the request carried that extraction reads
    fetched_at: float  # epoch seconds
    body: bytes = field(repr=False)

    @property
    def text_size(self) -> int:
        return len(self.body) + len(self.url) + len(self.final_url)


@dataclass
class WriteResult:
    pages: int = 0  # rows written
    bytes: int = 0  # what they hold, compressed
    dropped: int = 0  # rows dropped by the bounds (and pages too large to keep at all)


def request_key(method: str, url: str, body: bytes) -> str:
    """A page's key: its URL; with its method and a digest of its body when it has either."""
    if method == "GET" and not body:
        return url
    return f"{method} {url} {hashlib.sha1(body).hexdigest()[:16]}"


def archive_path(directory: str | Path, rule: str) -> Path:
    """Where ``rule``'s archive lives: its name, sanitised (a digest added when it needed
    changing), never a path of the rule's choosing.

    >>> archive_path("/d", "sample_books").as_posix(), archive_path("/d", "../x").name[:3]
    ('/d/sample_books.sqlite', '___')
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", rule)[:80] or "_"
    if safe != rule:
        safe += "-" + hashlib.sha1(rule.encode("utf-8")).hexdigest()[:10]
    return Path(directory) / f"{safe}.sqlite"


def open_archive(path: Path, rule: str, *, create: bool) -> sqlite3.Connection:
    """A connection to ``rule``'s archive; created when ``create``, else ArchiveError when
    there is none. Refuses a file that is another rule's or not an archive."""
    if not create and not path.is_file():
        raise ArchiveError(f"no page archive at {path}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise ArchiveError(f"cannot open the page archive {path}: {exc}") from None
    try:
        if create:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # before the first table
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO archive VALUES ('format', ?), ('rule', ?)", (FORMAT, rule)
            )
        found = dict(conn.execute("SELECT name, value FROM archive"))
    except sqlite3.Error as exc:
        conn.close()
        raise ArchiveError(f"{path} is not a page archive ({exc})") from None
    if found.get("rule") != rule or found.get("format") != FORMAT:
        conn.close()
        raise ArchiveError(
            f"{path} is the archive of rule {found.get('rule')!r} (format "
            f"{found.get('format')}), not of {rule!r}"
        )
    return conn


def write_pages(
    conn: sqlite3.Connection, pages: list[PageRecord], bounds: Bounds, now: float
) -> WriteResult:
    """Compress and write ``pages`` (a later fetch of a page replaces an earlier one), then
    drop pages older than ``bounds.max_age`` and the oldest ones beyond ``bounds.max_bytes``;
    one transaction."""
    result = WriteResult()
    rows = []
    for page in pages:
        meta = {"headers": page.headers, "meta": page.meta}
        meta_z = zlib.compress(orjson.dumps(meta, default=str, option=JSON_OPTIONS), LEVEL)
        body_z = zlib.compress(page.body, LEVEL)
        size = len(body_z) + len(meta_z) + len(page.key) + len(page.url) + len(page.final_url)
        size += ROW_OVERHEAD
        if size > bounds.max_bytes:  # it would only push out everything else, then go itself
            result.dropped += 1
            continue
        rows.append(
            (page.key, page.fetched_at, size, page.status, page.page, page.url, page.final_url,
             CODEC, meta_z, body_z)
        )  # fmt: skip
        result.bytes += size
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = conn.total_changes
        conn.executemany(
            "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE "
            "SET fetched_at = excluded.fetched_at, size = excluded.size, status = "
            "excluded.status, page = excluded.page, url = excluded.url, final_url = "
            "excluded.final_url, codec = excluded.codec, meta = excluded.meta, body = "
            "excluded.body WHERE excluded.fetched_at >= pages.fetched_at",
            rows,
        )
        result.pages = conn.total_changes - before
        result.dropped += drop_beyond(conn, bounds, now)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if result.dropped:
        conn.execute("PRAGMA incremental_vacuum")
    return result


def drop_beyond(conn: sqlite3.Connection, bounds: Bounds, now: float) -> int:
    """Drop pages older than the maximum age, then the oldest beyond the maximum size."""
    dropped = conn.execute("DELETE FROM pages WHERE fetched_at < ?", (now - bounds.max_age,))
    count = max(0, dropped.rowcount)
    total = conn.execute("SELECT total(size) FROM pages").fetchone()[0]
    excess = int(total) - bounds.max_bytes
    while excess > 0:
        oldest = conn.execute(
            "SELECT key, size FROM pages ORDER BY fetched_at, rowid LIMIT 500"
        ).fetchall()
        if not oldest:
            break
        victims = []
        for key, size in oldest:
            if excess <= 0:
                break
            victims.append((key,))
            excess -= size
        conn.executemany("DELETE FROM pages WHERE key = ?", victims)
        count += len(victims)
    return count


def count_pages(conn: sqlite3.Connection, since: float | None = None) -> tuple[int, int]:
    """How many pages (fetched at or after ``since``) and how many bytes they hold."""
    row = conn.execute(
        "SELECT count(*), total(size) FROM pages WHERE fetched_at >= ?", (since or 0.0,)
    ).fetchone()
    return int(row[0]), int(row[1])


def read_pages(
    conn: sqlite3.Connection, since: float | None = None, limit: int | None = None
) -> Iterator[PageRecord | ArchiveError]:
    """Pages fetched at or after ``since``, oldest first, at most ``limit``, read a chunk at a
    time; a row that cannot be read comes as an ArchiveError in its place."""
    position = (since or 0.0, -1)
    left = limit if limit is not None else -1
    while left != 0:
        chunk = READ_CHUNK if left < 0 else min(READ_CHUNK, left)
        rows = conn.execute(
            "SELECT rowid, key, url, final_url, status, page, fetched_at, codec, meta, body "
            "FROM pages WHERE (fetched_at, rowid) > (?, ?) ORDER BY fetched_at, rowid LIMIT ?",
            (*position, chunk),
        ).fetchall()
        for row in rows:
            yield page_of_row(row[1:])
        if len(rows) < chunk:
            return
        position = (rows[-1][6], rows[-1][0])
        if left > 0:
            left -= len(rows)


def page_of_row(row: tuple) -> PageRecord | ArchiveError:
    key, url, final_url, status, page, fetched_at, codec, meta_z, body_z = row
    if codec != CODEC:
        return ArchiveError(f"{url}: unknown codec {codec!r}")
    try:
        meta = orjson.loads(zlib.decompress(meta_z))
        body = zlib.decompress(body_z)
    except (zlib.error, orjson.JSONDecodeError) as exc:
        return ArchiveError(f"{url}: unreadable ({exc})")
    return PageRecord(
        key, url, final_url, status, meta.get("headers") or {}, page, meta.get("meta") or {},
        fetched_at, body,
    )  # fmt: skip
