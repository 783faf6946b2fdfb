"""Fixtures: the loopback OAuth servers, started per test (their state is the test's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.oauth_servers.standard import StandardServer
from tests.oauth_servers.wechat import WeChatServer


@pytest.fixture
def make_server() -> Iterator[Callable[..., Any]]:
    """``make_server(StandardServer, access_ttl=5)``: started now, stopped at teardown."""
    started: list[Any] = []

    def make(cls: type, **kwargs: Any) -> Any:
        server = cls(**kwargs)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def standard(make_server: Callable[..., Any]) -> StandardServer:
    return make_server(StandardServer, auto_approve="alice")


@pytest.fixture
def wechat(make_server: Callable[..., Any]) -> WeChatServer:
    return make_server(WeChatServer, auto_confirm=True)
