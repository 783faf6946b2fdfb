"""The archive's file on real SQLite: the latest copy per page, the size and age bounds (oldest
first), rows read back as written, and files that are not this rule's archive refused."""

from __future__ import annotations

import os
import zlib

import pytest

from crawler.archive.sqlite_archive import (
    ArchiveError,
    Bounds,
    PageRecord,
    archive_path,
    count_pages,
    open_archive,
    read_pages,
    request_key,
    write_pages,
)

NOW = 1_800_000_000.0
WIDE = Bounds(max_bytes=10**9, max_age=10**9)


def page(n: int, fetched_at: float, body: bytes | None = None, url: str | None = None):
    url = url or f"http://x.test/p/{n}"
    return PageRecord(
        key=request_key("GET", url, b""),
        url=url,
        final_url=url + "?final",
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
        page="book",
        meta={"rule_carry": {"rating": n}, "depth": 2},
        fetched_at=fetched_at,
        body=body if body is not None else f"<h1>page {n}</h1>".encode() * 50,
    )


@pytest.fixture
def conn(tmp_path):
    connection = open_archive(archive_path(tmp_path, "shop"), "shop", create=True)
    yield connection
    connection.close()


def urls(conn) -> list[str]:
    return [p.url for p in read_pages(conn)]


def test_pages_read_back_as_written_oldest_first(conn):
    pages = [page(n, NOW - 100 + n) for n in range(5)]
    written = write_pages(conn, list(reversed(pages)), WIDE, NOW)
    assert (written.pages, written.dropped) == (5, 0)
    assert written.bytes == count_pages(conn)[1] > 0
    assert list(read_pages(conn)) == pages
    assert [p.url for p in read_pages(conn, since=NOW - 98)] == [p.url for p in pages[2:]]
    assert [p.url for p in read_pages(conn, limit=2)] == [p.url for p in pages[:2]]
    recent, held = count_pages(conn, since=NOW - 97)
    assert recent == 2 and 0 < held < written.bytes


def test_only_the_latest_copy_of_a_page_is_kept(conn):
    write_pages(conn, [page(1, NOW - 50, b"old")], WIDE, NOW)
    write_pages(conn, [page(1, NOW - 10, b"new"), page(2, NOW - 5)], WIDE, NOW)
    write_pages(conn, [page(1, NOW - 30, b"late but older")], WIDE, NOW)  # an older fetch
    kept = list(read_pages(conn))
    assert [(p.url, p.body) for p in kept][:1] == [("http://x.test/p/1", b"new")]
    assert len(kept) == 2
    post = request_key("POST", "http://x.test/p/1", b"q=1")
    assert post != request_key("GET", "http://x.test/p/1", b"")


def test_pages_older_than_the_maximum_age_are_dropped(conn):
    write_pages(conn, [page(n, NOW - 1000 + n) for n in range(3)], WIDE, NOW)
    written = write_pages(conn, [page(9, NOW)], Bounds(10**9, max_age=998.5), NOW)
    assert written.dropped == 2  # fetched at NOW-1000 and NOW-999: older than 998.5 s
    assert urls(conn) == ["http://x.test/p/2", "http://x.test/p/9"]


def test_the_oldest_pages_go_first_when_the_archive_is_full(conn):
    body = os.urandom(2000)  # incompressible: every row holds about 2.2 KB
    write_pages(conn, [page(n, NOW - 100 + n, body) for n in range(10)], WIDE, NOW)
    total = count_pages(conn)[1]
    row = total // 10
    bounds = Bounds(max_bytes=total - row // 2, max_age=10**9)  # no room for the newest page
    written = write_pages(conn, [page(10, NOW, body)], bounds, NOW)
    assert written.dropped == 2
    assert urls(conn) == [f"http://x.test/p/{n}" for n in range(2, 11)]
    assert count_pages(conn)[1] <= bounds.max_bytes
    huge = write_pages(conn, [page(11, NOW, os.urandom(bounds.max_bytes))], bounds, NOW)
    assert (huge.pages, huge.dropped) == (0, 1)  # more than the whole archive: never kept


def test_an_unreadable_row_is_reported_in_its_place(conn):
    write_pages(conn, [page(1, NOW - 2), page(2, NOW - 1)], WIDE, NOW)
    conn.execute("UPDATE pages SET body = ? WHERE url = ?", (b"not zlib", "http://x.test/p/1"))
    read = list(read_pages(conn))
    assert isinstance(read[0], ArchiveError) and "unreadable" in str(read[0])
    assert read[1].body == zlib.decompress(zlib.compress(page(2, 0).body))


def test_a_missing_or_foreign_file_is_refused(tmp_path, conn):
    with pytest.raises(ArchiveError, match="no page archive"):
        open_archive(archive_path(tmp_path, "other"), "other", create=False)
    with pytest.raises(ArchiveError, match="archive of rule 'shop'"):
        open_archive(archive_path(tmp_path, "shop"), "other", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ArchiveError, match="not a page archive"):
        open_archive(junk, "junk", create=False)


def test_a_rule_name_never_leaves_the_archive_directory(tmp_path):
    for name in ("../../etc/passwd", "/abs", "a b", "..", "", "x" * 500):
        path = archive_path(tmp_path, name)
        assert path.parent == tmp_path and path.suffix == ".sqlite"
        assert "/" not in path.name and path.name not in (".sqlite", "..sqlite")
    assert archive_path(tmp_path, "a b") != archive_path(tmp_path, "a_b")
