"""A store for tests whose server "goes away": SQLite whose writes fail while a file
``<database>.down`` exists. Named by ``STORE_BACKENDS = {"failing": "tests.crawler.store.
failing_store.FailingStore"}`` and a URI ``failing:////abs/path.db``; it opens fine, as a store
that was up at start does, and the test brings it back by deleting the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.store.sqlite import SqliteStore

BACKENDS = {"failing": "tests.crawler.store.failing_store.FailingStore"}


def failing_uri(db: Path, memory: bool = False) -> str:
    """The URI of a failing store on ``db`` (or in memory, ``db`` naming only its switch), down
    from now on, until ``<db>.down`` is removed."""
    Path(f"{db}.down").write_text("down")
    return f"failing:///{db}" + ("?memory=1" if memory else "")


class FailingStore(SqliteStore):
    def __init__(self, uri: str) -> None:
        path, _, query = uri.removeprefix("failing://").partition("?")
        super().__init__("sqlite://" if "memory" in query else f"sqlite://{path}")
        self.switch = Path(f"{path[1:]}.down")
        self.uri = uri

    def _check(self) -> None:
        if self.switch.exists():
            raise ConnectionError("the store went away")

    def upsert_many(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().upsert_many(*args, **kwargs)

    def dead_letter(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().dead_letter(*args, **kwargs)

    def record_run(self, run: dict[str, Any]) -> None:
        self._check()
        super().record_run(run)
