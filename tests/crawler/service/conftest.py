"""Fixtures of the data service tests: the app on every store backend (SQLite; PostgreSQL on
the test process's server, tests/dbservers.py; MongoDB on mongomock, and on a real server when
MONGO_URI is set), with a temporary rules directory,
schedule and data directories, and an API token."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mongomock
import pytest
from fastapi.testclient import TestClient
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

import tests.crawler.store.conftest  # noqa: F401  (mongomock accepts pymongo 4.9's UpdateOne)
from crawler.service.api_tokens import TokenFile
from crawler.service.app import create_app
from crawler.store.base import Store
from crawler.store.mongo import MongoStore
from crawler.store.sqlite import SqliteStore
from tests.crawler.crawl import ROOT

MONGO_URI = os.environ.get("MONGO_URI")
# The PostgreSQL server of this test process, once a test on the "postgres" backend asked for it.
_SERVERS: dict[str, Any] = {}


@dataclass
class Service:
    client: TestClient
    store: Store  # the same store the service reads, opened in the test's thread
    token: str
    settings: Settings
    rules_dir: Path
    tmp: Path
    backend: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def service_settings(tmp: Path, store_uri: str, **extra: Any) -> Settings:
    settings = get_project_settings().copy()
    rules = tmp / "rules"
    if not rules.exists():
        shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("fixtures"))
    values = {
        "STORE_URI": store_uri,
        "STORE_SPILL_DIR": str(tmp / "spill"),
        "RULES_DIR": str(rules),
        "SCHEDULE_DIR": str(tmp / "schedule"),
        "SERVICE_DATA_DIR": str(tmp / "service"),
        "RULE_HISTORY_DIR": str(tmp / "rule-history"),
        "SERVICE_TOKENS_FILE": str(tmp / "secrets" / "tokens.json"),
        "ALERTS_FILE": str(tmp / "secrets" / "alerts.yaml"),
        "ALERTS_STATE": str(tmp / "alerts.sqlite"),
        "SERVICE_DASHBOARD_DIR": str(tmp / "no-dashboard"),
        "PROXY_POOL_STORE": f"sqlite:///{tmp / 'proxies.db'}",
        "PROXY_POOL_DATA_DIR": str(tmp / "pool"),
        "INCREMENTAL_STATE_URI": "",
        "SERVICE_EVENTS_POLL": 0.05,
        "SCHEDULE_STOP_GRACE": 5,
        # the test client's Host: a name the service answers to, as a reverse proxy's would be
        "SERVICE_ALLOWED_HOSTS": "testserver",
        # the collection the item tests seed (no rule stores into it): its listing fields
        "SERVICE_INDEXES": json.dumps({"books": ["price", "tag"]}),
        **extra,
    }
    for name, value in values.items():
        settings.set(name, value, priority="cmdline")  # forwarded to the crawls it starts
    return settings


def store_for(backend: str, tmp: Path) -> tuple[str, Callable[[], Store], Callable[[], None]]:
    """``(uri, factory of stores the service and the test share, cleanup)``."""
    if backend == "sqlite":
        uri = f"sqlite:///{tmp / 'store.db'}"
        return uri, lambda: SqliteStore(uri), lambda: None
    if backend == "mongo":
        client = mongomock.MongoClient()
        uri = "mongodb://mock.invalid/service_test"
        return uri, lambda: MongoStore(uri, client=client), lambda: None
    if backend == "postgres":
        from crawler.store.postgres import PostgresStore
        from crawler.store.postgres_schema import new_pool

        uri = _SERVERS["postgres"].new_database()
        pool = new_pool(uri)  # shared by the service's threads and the test, as in production
        return uri, lambda: PostgresStore(uri, pool=pool), pool.close
    from pymongo import MongoClient

    assert MONGO_URI
    name = f"service_test_{uuid.uuid4().hex[:8]}"
    uri = MONGO_URI.rsplit("/", 1)[0] + "/" + name
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    return uri, lambda: MongoStore(uri, client=client), lambda: client.drop_database(name)


@pytest.fixture(params=["sqlite", "mongo", "postgres", "mongo-real"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "mongo-real" and not MONGO_URI:
        pytest.skip("no MongoDB server here: set MONGO_URI to run against a real one")
    if request.param == "postgres":  # started for the first test that needs it, not before
        _SERVERS["postgres"] = request.getfixturevalue("postgres_server")
    return request.param


def make_service(
    backend: str, tmp: Path, launcher: Any = None, host: str | None = None, **extra: Any
) -> Iterator[Service]:
    uri, factory, cleanup = store_for(backend, tmp)
    settings = service_settings(tmp, uri, **extra)
    token, _ = TokenFile(tmp / "secrets" / "tokens.json").create("tests")
    app = create_app(settings, host=host, make_store=factory, launcher=launcher)
    store = factory()
    store.open()
    try:
        with TestClient(app) as client:
            yield Service(client, store, token, settings, tmp / "rules", tmp, backend)
    finally:
        store.close()
        cleanup()


@pytest.fixture
def service(backend: str, tmp_path: Path) -> Iterator[Service]:
    yield from make_service(backend, tmp_path)


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[Service]:
    yield from make_service("sqlite", tmp_path)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The service with sign-in configured and the two loopback OAuth servers
    (tests/crawler/service/signin_support.py)."""
    from tests.crawler.service.signin_support import make_world

    yield from make_world(tmp_path, monkeypatch)
