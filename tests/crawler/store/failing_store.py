"""A store for tests whose server "goes away": SQLite that takes its first ``ok`` writes, then
fails every write. Named by ``STORE_BACKENDS = {"failing": "tests.crawler.store.failing_store.
FailingStore"}`` and a URI ``failing:////abs/path.db?ok=N``; it opens fine, as a store that was
up at start does."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from crawler.store.sqlite import SqliteStore

BACKENDS = {"failing": "tests.crawler.store.failing_store.FailingStore"}


class FailingStore(SqliteStore):
    def __init__(self, uri: str) -> None:
        path, _, query = uri.removeprefix("failing://").partition("?")
        self.ok = int(parse_qs(query).get("ok", ["0"])[0])
        super().__init__(f"sqlite://{path}")
        self.uri = uri

    def _write(self) -> None:
        if self.ok <= 0:
            raise ConnectionError("the store went away")
        self.ok -= 1

    def upsert_many(self, *args: Any, **kwargs: Any) -> Any:
        self._write()
        return super().upsert_many(*args, **kwargs)

    def dead_letter(self, *args: Any, **kwargs: Any) -> Any:
        self._write()
        return super().dead_letter(*args, **kwargs)

    def record_run(self, run: dict[str, Any]) -> None:
        if self.ok <= 0:
            raise ConnectionError("the store went away")
        super().record_run(run)
