"""Fixtures of the fleet tests: three Scrapyd nodes (Scrapyd from PyPI, each with its own
directories on a free loopback port), a real redis-server, the sample site, one shared store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler.nodes import Fleet
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer
from tests.sample_site import SampleSite
from tests.scrapyd_nodes import ScrapydNode
from tests.settings import project_settings

BOOKS = 60


@pytest.fixture(scope="package")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def nodes(tmp_path_factory) -> Iterator[list[ScrapydNode]]:
    root = tmp_path_factory.mktemp("nodes")
    started = []
    try:
        for name in ("n1", "n2", "n3"):
            started.append(
                ScrapydNode(root / name, name, username="fleet", password=f"pw-{name}").start()
            )
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.fixture(scope="package")
def site() -> Iterator[SampleSite]:
    with SampleSite(books=BOOKS, latency=0.05) as served:
        yield served


def fleet_settings(
    nodes: list[ScrapydNode], workdir: Path, redis_url: str, **more: Any
) -> Settings:
    return Settings(
        project_settings(
            NODES={node.name: node.config() for node in nodes},
            NODES_FILE=str(workdir / "nodes.yaml"),
            STORE_URI=f"sqlite:///{workdir / 'items.db'}",
            REDIS_URL=redis_url,
            NODES_CHECK_INTERVAL=0.5,
            NODES_OFFLINE_AFTER=2.0,
            NODES_CRAWL_SETTINGS={
                # the nodes share this machine's disk: a dead node's journal is replayed by the
                # crawls that outlive it (on separate machines: when the node comes back)
                "STORE_JOURNAL_DIR": str(workdir / "journal"),
                "DISTRIBUTED_IDLE_TIMEOUT": 2,
                "DISTRIBUTED_LEASE_TIMEOUT": 3,
                "RUN_UPDATE_INTERVAL": 1,
                "FLEET_HEARTBEAT_INTERVAL": 0.5,
                "CONCURRENT_REQUESTS": 4,
            },
            **more,
        )
    )


@pytest.fixture
def fleet(nodes, tmp_path, redis_server) -> Fleet:
    """A fleet of the three nodes with a store of its own (the project deployed: once)."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    fleet = Fleet(fleet_settings(nodes, tmp_path, redis_server.url))
    _, results = fleet.deploy()
    assert all(r["ok"] for r in results), results
    return fleet


class Receiver:
    """An alert receiver on 127.0.0.1: keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()
