"""The MySQL push sink against a real MariaDB (tests/dbservers.py): tables typed from item
types, idempotent upserts that never let an old version overwrite a newer one, a type that
gains a field, values a column cannot hold, outages (retried, kept aside, replayed), the
password kept out of everything, and a real crawl of the sample site pushing into MariaDB."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymysql
import pytest
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.push.mysql_sink import MySqlError, MySqlSink
from crawler.push.pusher import Pusher
from crawler.push.redelivery import failed_files, replay_file
from crawler.push.sinks import SinkNotConfigured, entry_of
from crawler.rules.itemtypes.model import ItemType
from crawler.spider.project import parse_rule
from crawler.store import content_hash, open_store
from crawler.store.browse import ItemQuery
from tests.crawler.crawl import crawl_sample_books, sample_rules_with, scrapy
from tests.dbservers import PASSWORD
from tests.net import free_port

BOOK = {
    "name": "book",
    "key": ["upc"],
    "fields": {
        "upc": {"type": "string", "required": True},
        "title": {"type": "string"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "in_print": {"type": "boolean"},
        "published": {"type": "string", "format": "date"},
        "seen": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


@pytest.fixture
def mysql_uri(mariadb_server) -> str:
    return mariadb_server.new_database()


def make_sink(uri: str, monkeypatch) -> MySqlSink:
    monkeypatch.setenv("PUSH_MYSQL_URL", uri)
    return MySqlSink.from_settings(
        Settings({"PUSH_MYSQL_URL_ENV": "PUSH_MYSQL_URL", "PUSH_TIMEOUT": 5})
    )


def book_type(**more_fields) -> ItemType:
    return ItemType.from_dict({**BOOK, "fields": {**BOOK["fields"], **more_fields}})


def entry(upc: str, updated: str = "2026-12-01T10:00:00.000Z", **fields):
    doc = {"upc": upc, "_key": f'["{upc}"]', "_updated_at": updated, **fields}
    doc["_hash"] = content_hash(doc)
    return entry_of("books", doc)


def query(uri: str, sql: str, *args) -> list[tuple]:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    conn = pymysql.connect(
        host=parts.hostname, port=parts.port, user=parts.username, password=parts.password,
        database=parts.path.lstrip("/"), charset="utf8mb4",
    )  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def test_a_rule_may_push_into_mysql() -> None:
    base = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
    rule = parse_rule(base + "push: {sinks: [mysql, webhook]}\n")
    assert rule.crawl_settings["PUSH_SINKS"] == ["mysql", "webhook"]


def test_a_missing_or_malformed_url_is_one_clear_line_without_the_password(monkeypatch) -> None:
    settings = Settings({"PUSH_MYSQL_URL_ENV": "PUSH_MYSQL_URL", "PUSH_TIMEOUT": 5})
    monkeypatch.delenv("PUSH_MYSQL_URL", raising=False)
    with pytest.raises(SinkNotConfigured, match=r"\$PUSH_MYSQL_URL is unset"):
        MySqlSink.from_settings(settings)
    for bad in (
        f"postgresql://u:{PASSWORD}@h/db",
        f"mysql://u:{PASSWORD}@h:port/db",
        f"mysql://u:{PASSWORD}@h:3306/",
        f"mysql://u:{PASSWORD}@h/db?table_prefix=x;drop",
        f"mysql://u:{PASSWORD}@h/db?colour=red",
    ):
        monkeypatch.setenv("PUSH_MYSQL_URL", bad)
        with pytest.raises(SinkNotConfigured) as caught:
            MySqlSink.from_settings(settings)
        assert PASSWORD not in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.setenv("PUSH_MYSQL_URL", f"mariadb://u:{PASSWORD}@h/db?table_prefix=crawl_")
    sink = MySqlSink.from_settings(settings)
    assert (sink.server.port, sink.server.database, sink.server.table_prefix) == (
        3306,
        "db",
        "crawl_",
    )


def test_a_table_is_created_with_columns_typed_from_the_item_type(mysql_uri, monkeypatch) -> None:
    sink = make_sink(mysql_uri + "?table_prefix=crawl_", monkeypatch)
    kind = book_type()
    sink.declare("books", kind.fields, kind.key)
    sink.deliver("books", [
        entry("u1", title="Été", price=12.5, stock=3, in_print=True, published="2020-02-29",
              seen="2026-12-01T18:30:00.25+08:00", tags=["a", "b"], extra="undeclared"),
        entry("u2", title=None, price=7, stock=None),
    ])  # fmt: skip
    sink.close()
    columns = dict(query(
        mysql_uri, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'crawl_books'",
    ))  # fmt: skip
    assert columns["_key_hash"] == "char(64)" and columns["_version"] == "varchar(128)"
    assert columns["_updated_at"] == "datetime(6)" and columns["_doc"] == "longtext"  # JSON
    assert columns["upc"] == "varchar(768)" and columns["title"] == "longtext"
    assert columns["price"] == "double" and columns["stock"] == "bigint(20)"
    assert columns["in_print"] == "tinyint(1)" and columns["published"] == "date"
    assert columns["seen"] == "datetime(6)" and columns["tags"] == "longtext"
    assert "extra" not in columns
    rows = query(
        mysql_uri, "SELECT upc, title, price, stock, in_print, published, seen, tags, "
        "JSON_VALUE(_doc, '$.extra'), _updated_at FROM crawl_books ORDER BY upc",
    )  # fmt: skip
    assert rows[0] == (
        "u1", "Été", 12.5, 3, 1, datetime(2020, 2, 29).date(), datetime(2026, 12, 1, 10, 30, 0, 250000),
        '["a","b"]', "undeclared", datetime(2026, 12, 1, 10, 0),
    )  # fmt: skip
    assert rows[1][:4] == ("u2", None, 7.0, None)


def test_upserts_are_idempotent_and_an_older_version_never_overwrites_a_newer(
    mysql_uri, monkeypatch
) -> None:
    sink = make_sink(mysql_uri, monkeypatch)
    kind = book_type()
    sink.declare("books", kind.fields, kind.key)
    old = [entry("u1", price=10), entry("u2", price=20)]
    sink.deliver("books", old)
    sink.deliver("books", old)  # a retry after a lost answer
    assert query(mysql_uri, "SELECT upc, price FROM books ORDER BY upc") == [
        ("u1", 10.0), ("u2", 20.0)
    ]  # fmt: skip
    later = "2026-12-02T10:00:00.000Z"
    sink.deliver("books", [entry("u1", later, price=11)])
    sink.deliver("books", old)  # the old batch replayed from a kept-aside file
    rows = query(mysql_uri, "SELECT upc, price, _version, _updated_at FROM books ORDER BY upc")
    assert rows[0] == (
        "u1",
        11.0,
        content_hash({"upc": "u1", "price": 11}),
        datetime(2026, 12, 2, 10, 0),
    )
    assert rows[1][:2] == ("u2", 20.0)
    # Same moment, two versions: the greater wins whichever order they come in.
    sink.deliver("books", [entry("u3", price=1), entry("u3", price=2)])
    sink.deliver("books", [entry("u3", price=1)])
    assert query(mysql_uri, "SELECT price FROM books WHERE upc = 'u3'") == [(2.0,)]
    sink.close()


def test_a_type_that_gains_a_field_gains_a_column(mysql_uri, monkeypatch) -> None:
    first = make_sink(mysql_uri, monkeypatch)
    first.declare("books", book_type().fields, ("upc",))
    first.deliver("books", [entry("u1", price=10)])
    first.close()
    second = make_sink(mysql_uri, monkeypatch)  # the next crawl, its type with one more field
    kind = book_type(isbn={"type": "string"}, pages={"type": "integer"})
    second.declare("books", kind.fields, kind.key)
    second.deliver("books", [entry("u2", isbn="978-3", pages=321)])
    second.close()
    rows = query(mysql_uri, "SELECT upc, isbn, pages, price FROM books ORDER BY upc")
    assert rows == [("u1", None, None, 10.0), ("u2", "978-3", 321, None)]
    # A replay without the type (scrapy push replay) fills the table's columns all the same.
    third = make_sink(mysql_uri, monkeypatch)
    third.deliver("books", [entry("u3", isbn="978-4", pages=12)])
    third.close()
    assert query(mysql_uri, "SELECT isbn, pages FROM books WHERE upc = 'u3'") == [("978-4", 12)]


def test_a_value_its_column_cannot_hold_is_not_silently_lost(
    tmp_path, mysql_uri, monkeypatch, caplog
) -> None:
    sink = make_sink(mysql_uri, monkeypatch)
    sink.declare("books", book_type().fields, ("upc",))
    settings = get_project_settings().copy()
    settings.set("PUSH_DIR", str(tmp_path / "push"))
    stats = MemoryStatsCollector(get_crawler())
    pusher = Pusher(lambda: None, [sink], ["books"], settings, stats, datetime.now(UTC))
    with caplog.at_level(logging.WARNING):
        pusher.deliver(sink, "books", [
            entry("u1", stock="many", published="not a date", price=float("inf")),
            entry("u2", stock=2**70, title="ok"),
        ])  # fmt: skip
    assert stats.get_value("push/mysql/null_values") == 4
    assert stats.get_value("push/mysql/items") == 2
    assert "stored NULL, the value is kept in _doc" in caplog.text
    rows = query(
        mysql_uri,
        "SELECT upc, stock, published, JSON_VALUE(_doc, '$.stock') FROM books ORDER BY upc",
    )
    assert rows[0] == ("u1", None, None, "many") and rows[1][1] is None
    # What the sink does not check, the strict server refuses: the batch fails, nothing half.
    query(mysql_uri, "ALTER TABLE books ADD COLUMN rank DECIMAL(3,1) NULL")
    sink.tables.clear()
    with pytest.raises(MySqlError, match="Out of range") as caught:
        sink.deliver("books", [entry("u9", price=1), entry("u8", rank=12345.5)])
    assert PASSWORD not in str(caught.value)
    assert query(mysql_uri, "SELECT COUNT(*) FROM books WHERE upc IN ('u8', 'u9')") == [(0,)]
    sink.deliver("books", [entry("u9", price=1)])  # and the sink goes on
    sink.close()


def test_the_sink_reconnects_after_its_connection_is_lost(mysql_uri, monkeypatch) -> None:
    sink = make_sink(mysql_uri, monkeypatch)
    sink.deliver("books", [entry("u1", price=1)])
    query(mysql_uri, f"KILL CONNECTION {sink.connection.thread_id()}")  # as a server restart
    sink.deliver("books", [entry("u2", price=2)])
    assert query(mysql_uri, "SELECT COUNT(*) FROM books") == [(2,)]
    # The server gone in the middle of a batch: the batch fails whole, the next try delivers.
    rows = sink.rows

    def gone(*args):
        query(mysql_uri, f"KILL CONNECTION {sink.connection.thread_id()}")
        return rows(*args)

    monkeypatch.setattr(sink, "rows", gone)
    with pytest.raises(MySqlError, match="Lost connection|gone away"):
        sink.deliver("books", [entry("u3", price=3), entry("u4", price=4)])
    monkeypatch.setattr(sink, "rows", rows)
    assert query(mysql_uri, "SELECT COUNT(*) FROM books") == [(2,)]
    sink.deliver("books", [entry("u3", price=3), entry("u4", price=4)])
    assert query(mysql_uri, "SELECT COUNT(*) FROM books") == [(4,)]
    sink.close()


def test_an_outage_is_retried_kept_aside_then_replayed_with_nothing_lost(
    tmp_path, mysql_uri, monkeypatch, caplog
) -> None:
    store_uri = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(store_uri) as store:
        store.upsert_many("books", [{"upc": f"u{i}", "price": i} for i in range(7)], ("upc",))
    closed = mysql_uri.replace(mysql_uri.split("@")[1].split("/")[0], f"127.0.0.1:{free_port()}")
    down = make_sink(closed, monkeypatch)
    settings = get_project_settings().copy()
    settings.setdict({
        "PUSH_DIR": str(tmp_path / "push"), "PUSH_SETTLE": 0, "PUSH_RETRY_TIMES": 2,
        "PUSH_RETRY_BACKOFF": 0.01, "PUSH_BATCH_SIZE": 5,
    })  # fmt: skip
    stats = MemoryStatsCollector(get_crawler())
    started = datetime.now(UTC) - timedelta(minutes=1)
    pusher = Pusher(lambda: open_store(store_uri), [down], ["books"], settings, stats, started)
    store = open_store(store_uri)
    store.open()
    try:
        with caplog.at_level(logging.WARNING):
            while pusher.look(store, final=True):
                pass
    finally:
        store.close()
    down.close()
    assert stats.get_value("push/mysql/failures") == 6  # two batches, three tries each
    assert stats.get_value("push/mysql/kept_aside") == 7
    files = failed_files(tmp_path / "push", "mysql")
    assert files and "Can't connect" in files[0].read_text()
    for text in [caplog.text, *(f.read_text() for f in files)]:
        assert PASSWORD not in text
    up = make_sink(mysql_uri, monkeypatch)  # the server is back
    result = replay_file(files[0], up, 5)
    up.close()
    assert result.delivered == 7 and not result.error
    assert query(mysql_uri, "SELECT COUNT(*) FROM books") == [(7,)]


# -- real crawls of the sample site --------------------------------------------------------


def crawl(tmp_path: Path, site: str, url: str, *settings: str):
    rules = sample_rules_with(tmp_path, "push", "{sinks: [mysql], batch_size: 8}")
    return crawl_sample_books(
        tmp_path, rules, site, "STORE_BATCH_SIZE=5", "STORE_BATCH_SECONDS=0.2",
        f"PUSH_DIR={tmp_path / 'push'}", "PUSH_INTERVAL=0.1", "PUSH_SETTLE=0.2",
        "PUSH_RETRY_BACKOFF=0.05", *settings, env={"PUSH_MYSQL_URL": url}, timeout=240,
    )  # fmt: skip


def stored(tmp_path: Path) -> dict[str, dict]:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        return {d["_key"]: d for d in store.iter_items("sample_books", ItemQuery(limit=500))}


def test_a_crawl_of_the_sample_site_pushes_typed_rows_into_mariadb(
    tmp_path, make_sample_site, mysql_uri
) -> None:
    site = make_sample_site(books=12).url
    result = crawl(tmp_path, site, mysql_uri)
    assert result.returncode == 0, result.stderr[-3000:]
    assert PASSWORD not in result.stderr
    docs = stored(tmp_path)
    assert len(docs) >= 12
    rows = query(mysql_uri, "SELECT _key, _version, title, price, stock, _url FROM sample_books")
    assert {r[0]: r[1] for r in rows} == {k: d["_hash"] for k, d in docs.items()}
    for key, _, title, price, stock, url in rows:
        doc = docs[key]
        assert (title, price, stock, url) == (
            doc["title"],
            doc["price"],
            doc.get("stock"),
            doc["_url"],
        )
    assert query(
        mysql_uri, "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
        "DATABASE() AND TABLE_NAME = 'sample_books' AND COLUMN_NAME = 'published'",
    ) == [("date",)]  # fmt: skip


def test_a_crawl_while_mariadb_is_down_is_kept_aside_and_replayed(
    tmp_path, make_sample_site, mysql_uri
) -> None:
    site = make_sample_site(books=6).url
    closed = mysql_uri.replace(mysql_uri.split("@")[1].split("/")[0], f"127.0.0.1:{free_port()}")
    result = crawl(tmp_path, site, closed, "PUSH_RETRY_TIMES=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "scrapy push replay" in result.stderr and PASSWORD not in result.stderr
    kept = failed_files(tmp_path / "push", "mysql")
    assert kept and all(PASSWORD not in path.read_text() for path in kept)
    replay = scrapy(
        "push", "replay", "-s", f"PUSH_DIR={tmp_path / 'push'}", "-s", "PUSH_SINKS=mysql",
        env={"PUSH_MYSQL_URL": mysql_uri},
    )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert PASSWORD not in replay.stdout + replay.stderr
    keys = {r[0] for r in query(mysql_uri, "SELECT _key FROM sample_books")}
    assert keys == set(stored(tmp_path)) and len(keys) >= 6
