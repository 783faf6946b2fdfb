"""What only the embedded SQLite backend does: files, WAL, table names, locks."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from crawler.store import open_store
from crawler.store.sqlite import SqliteStore, sqlite_path, table_name


def test_relative_path_and_parent_dirs_are_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///nested/dir/items.db") as store:
        store.upsert_many("a", [{"url": "u"}], ("url",))
    assert (tmp_path / "nested" / "dir" / "items.db").is_file()


def test_wal_mode_and_data_survive_reopen(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'items.db'}"
    with open_store(uri) as store:
        store.upsert_many("a", [{"url": "u", "v": 1}], ("url",))
        (mode,) = store.conn.execute("PRAGMA journal_mode").fetchone()  # type: ignore[attr-defined]
        assert mode == "wal"
    with open_store(uri) as store:
        assert store.upsert_many("a", [{"url": "u", "v": 1}], ("url",)).unchanged == 1
        assert store.collections() == ["a"]


def test_in_memory() -> None:
    store = open_store("sqlite://")
    assert isinstance(store, SqliteStore) and store.path == ":memory:"
    with store:
        assert store.upsert_many("a", [{"url": "u"}], ("url",)).new == 1


def test_uri_forms() -> None:
    assert sqlite_path("sqlite:////abs/x.db") == ("/abs/x.db", 5.0)
    assert sqlite_path("sqlite:///rel/x.db?timeout=0.25") == ("rel/x.db", 0.25)
    assert sqlite_path("sqlite:///:memory:")[0] == ":memory:"
    with pytest.raises(ValueError, match="three slashes"):
        sqlite_path("sqlite://x.db")


def test_collection_names_are_sanitised_and_distinct(tmp_path: Path) -> None:
    names = ["shop.books", "shop books", 'x"; DROP TABLE _runs; --', "é"]
    assert len({table_name(n) for n in names}) == len(names)
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        for n in names:
            store.upsert_many(n, [{"url": n}], ("url",))
        assert store.collections() == sorted(names)
        assert all(store.count(n) == 1 for n in names)
        store.record_run({"run_id": "r", "rule": "x"})
        assert store.runs()


def test_changing_the_key_of_a_collection_is_refused(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'a.db'}"
    with open_store(uri) as store:
        store.upsert_many("a", [{"url": "u", "sku": 1}], ("url",))
    with open_store(uri) as store, pytest.raises(ValueError, match="keyed by"):
        store.upsert_many("a", [{"url": "u", "sku": 1}], ("sku",))


def test_locked_database_fails_fast_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with open_store(f"sqlite:///{path}") as store:
        store.upsert_many("a", [{"url": "u0"}], ("url",))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with (
            open_store(f"sqlite:///{path}?timeout=0.05") as store,
            pytest.raises(sqlite3.OperationalError, match="locked"),
        ):
            store.upsert_many("a", [{"url": "u1"}], ("url",))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_store(f"sqlite:///{path}") as store:
        assert [d["url"] for d in store.find("a")] == ["u0"]


def test_unwritable_location_fails_on_open(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = open_store(f"sqlite:///{blocker / 'items.db'}")
    with pytest.raises(OSError):
        store.open()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_fails_on_write(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with open_store(f"sqlite:///{path}") as store:
        store.upsert_many("a", [{"url": "u0"}], ("url",))
    path.chmod(0o444)
    with open_store(f"sqlite:///{path}") as store, pytest.raises(sqlite3.OperationalError):
        store.upsert_many("a", [{"url": "u1"}], ("url",))
