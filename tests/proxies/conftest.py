"""Shared fixtures: a loopback judge and fleet, a Redis server of our own, and the deployment
secrets (proxy key secret, API token) in the environment, so that no test, and no command a
test runs, generates them into the project's data/ directory."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from tests.proxies.fleet import FleetProcess
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer

FLEET_COUNTS = {
    "elite": 60,
    "anonymous": 60,
    "transparent": 60,
    "slow": 30,
    "tarpit": 30,
    "dead": 30,
    "garbage": 20,
}


KEY_SECRET = "tests-proxy-key-secret-0123456789"
API_TOKEN = "tests-api-token-0123456789abcdef"


@pytest.fixture(scope="session", autouse=True)
def _deployment_secrets() -> Iterator[None]:
    patch = pytest.MonkeyPatch()
    patch.setenv("PROXY_POOL_KEY_SECRET", KEY_SECRET)
    patch.setenv("PROXY_POOL_API_TOKEN", API_TOKEN)
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@pytest.fixture(scope="session")
def fleet() -> Iterator[FleetProcess]:
    """320 loopback proxies with set behaviours and a judge (HTTP and HTTPS), in one child
    process (one asyncio loop), so the validator under test has the other core."""
    with FleetProcess(FLEET_COUNTS, delay=0.3, auth_every=5) as running:
        yield running


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own on a free loopback port, in a temp dir."""
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.stop()
