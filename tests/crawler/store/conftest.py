"""Fixtures for the store tests: every backend behind one ``store`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mongomock
import mongomock.collection
import pytest

from crawler.store.base import Store
from crawler.store.mongo import MongoStore
from crawler.store.sqlite import SqliteStore

# mongomock 4.3 predates pymongo 4.9's `sort` argument of UpdateOne: accept and ignore it
# (we never pass one), so the backend's own bulk_write code runs unchanged on mongomock.
_add_update = mongomock.collection.BulkOperationBuilder.add_update
if "sort" not in _add_update.__code__.co_varnames:

    def _add_update_ignoring_sort(self, *args, sort=None, **kwargs):  # type: ignore[no-untyped-def]
        return _add_update(self, *args, **kwargs)

    mongomock.collection.BulkOperationBuilder.add_update = _add_update_ignoring_sort


def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest | None = None) -> Store:
    if backend == "sqlite":
        return SqliteStore(f"sqlite:///{tmp_path / 'store' / 'items.db'}")
    if backend == "postgres":
        assert request is not None, "a postgres store needs the test's request"
        from crawler.store.postgres import PostgresStore

        # the server starts once per test process, and only for a test that asks for it
        return PostgresStore(request.getfixturevalue("postgres_server").new_database())
    return MongoStore("mongodb://mock.invalid/crawler_test", client=mongomock.MongoClient())


@pytest.fixture(params=["sqlite", "mongo", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    s = make_store(backend, tmp_path, request)
    s.open()
    yield s
    s.close()
