"""Shared pytest fixtures: the bundled sample site running on 127.0.0.1.

Tests write only into temporary directories: ``CRAWLER_DATA_DIR`` (vocab/datadir.py)
points every default data path (store, spill files, journal, logs, schedule state) at one for
the session, crawls started in subprocesses included, and the session fails if the project's
own data/ changed while it ran.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.dbservers import (
    MARIADB_MISSING,
    MARIADBD,
    PG_BIN,
    PG_MISSING,
    MariaDBServer,
    PostgresServer,
)
from tests.sample_site import SampleSite

PROJECT_DATA = Path(__file__).resolve().parents[1] / "data"
_data_dir = tempfile.mkdtemp(prefix="crawler-test-data-")
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
os.environ["CRAWLER_DATA_DIR"] = _data_dir  # before any test imports crawler.settings
# No deployment file of this machine's (docs/configuration.md) reaches the tests: an empty one.
os.environ["CRAWLER_CONFIG"] = os.devnull


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    if not directory.is_dir():
        return {}
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in directory.rglob("*")
        if path.is_file()
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = _snapshot(PROJECT_DATA)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, {})
    after = _snapshot(PROJECT_DATA)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "tests wrote into the project's data/: " + ", ".join(changed[:20])
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[dict[str, tuple[int, int]]]()


@pytest.fixture(scope="session")
def sample_site() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``, no trailing slash) of a SampleSite(books=60)."""
    with SampleSite(books=60) as site:
        assert site.url is not None
        yield site.url


@pytest.fixture
def make_sample_site() -> Iterator[Callable[..., SampleSite]]:
    """Start extra sample sites with any SampleSite kwargs; all are stopped at teardown.

    ``site = make_sample_site(books=500, latency=0.05)``; its base URL is ``site.url``.
    """
    started: list[SampleSite] = []

    def make(**kwargs: object) -> SampleSite:
        site = SampleSite(**kwargs)  # type: ignore[arg-type]
        started.append(site)
        site.start()
        return site

    yield make
    for site in reversed(started):
        site.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test process (tests/dbservers.py); ``new_database()`` gives
    a test its own database."""
    if PG_BIN is None:
        pytest.skip(PG_MISSING)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A MariaDB server of this test process (tests/dbservers.py)."""
    if MARIADBD is None:
        pytest.skip(MARIADB_MISSING)
    server = MariaDBServer().start()
    yield server
    server.stop()
