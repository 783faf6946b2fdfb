"""The HTTP API answers as jhao104/proxy_pool's clients expect; the API client pool works."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from proxies.checker import apply_results
from proxies.client import HttpApiProxyPool
from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool import StoredProxyPool, memory_pool
from proxies.service import bound_port, start_api
from proxies.validator import Validator
from tests.proxies.conftest import API_TOKEN
from tests.proxies.fleet import FleetProcess

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


class ApiThread:
    """The API as ``serve`` starts it (:func:`proxies.service.start_api`), on 127.0.0.1, on an
    event loop in a thread of its own; ``settings``: ``PROXY_POOL_API_*`` overrides."""

    def __init__(
        self,
        pool: StoredProxyPool,
        token: str | None = API_TOKEN,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.pool = pool
        self.token = token
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        self.runner = asyncio.run_coroutine_threadsafe(
            start_api(self.pool, "127.0.0.1", 0, token=self.token, settings=self.settings),
            self.loop,
        ).result(10)
        self.port = bound_port(self.runner)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def checked_pool(fleet: FleetProcess) -> StoredProxyPool:
    """The fleet's proxies, validated for real, in an in-memory pool."""
    specs = [s for s in fleet.fleet.specs if s.auth is None][:120]
    pool = memory_pool()
    validator = Validator(
        fleet.judge.url, https_url=fleet.judge.https_url, timeout=1.5, tls_verify=False
    )
    results = validator.run([s.proxy(source=f"fleet-{s.kind}") for s in specs])
    pool.store.add([r.proxy for r in results])
    apply_results(pool.store, pool.policy, results)
    return pool


@pytest.fixture()
def api(checked_pool: StoredProxyPool) -> Iterator[str]:
    with ApiThread(checked_pool) as base:
        yield base


def test_jhao104_client_recipe_works_unchanged(api: str, fleet: FleetProcess) -> None:
    # the client code from jhao104/proxy_pool's README, with the address changed and the token
    # added to its state change
    def get_proxy():
        return requests.get(f"{api}/get/").json()

    def delete_proxy(proxy):
        requests.get(f"{api}/delete/?proxy={proxy}&token={API_TOKEN}")

    info = get_proxy()
    assert set(info) >= {
        "proxy",
        "https",
        "fail_count",
        "region",
        "anonymous",
        "source",
        "check_count",
        "last_status",
        "last_time",
    }
    proxy = info.get("proxy")
    html = requests.get(fleet.judge.url, proxies={"http": f"http://{proxy}"}, timeout=5)
    assert html.status_code == 200 and html.json()["remote_addr"].startswith("127.0.")
    assert info["last_status"] is True and info["check_count"] == 1
    assert "@" not in proxy  # never credentials
    delete_proxy(proxy)
    assert all(p["proxy"] != proxy for p in requests.get(f"{api}/all/").json())


def test_paths_with_and_without_slash_and_filters(api: str, checked_pool: StoredProxyPool) -> None:
    everything = requests.get(f"{api}/all").json()
    assert (
        everything == requests.get(f"{api}/all/").json() == requests.get(f"{api}/get_all/").json()
    )
    assert everything and all(p["last_status"] for p in everything)
    assert all(not p["source"].endswith(("dead", "tarpit", "garbage")) for p in everything)
    scores = [p["score"] for p in everything]
    assert len(scores) > 10
    https = requests.get(f"{api}/all/?type=https").json()
    assert https and all(p["https"] for p in https)
    elite = requests.get(f"{api}/all/?anonymity=elite").json()
    assert elite and {p["anonymous"] for p in elite} == {"elite"}
    anon = {p["anonymous"] for p in requests.get(f"{api}/all/?anonymity=anonymous").json()}
    assert anon == {"anonymous", "elite"}
    assert requests.get(f"{api}/get/?type=https&anonymity=elite").json()["anonymous"] == "elite"
    assert requests.get(f"{api}/all/?paid=1").json() == []
    assert requests.get(f"{api}/get/?paid=1").json() == {"code": 0, "src": "no proxy"}
    bad = requests.get(f"{api}/get/?anonymity=super")
    assert bad.status_code == 400 and "anonymity" in bad.json()["src"]
    count = requests.get(f"{api}/count/").json()
    assert count["count"] == len(everything)
    assert sum(count["http_type"].values()) == len(everything)
    assert set(count["source"]) <= {
        "fleet-elite",
        "fleet-anonymous",
        "fleet-transparent",
        "fleet-slow",
    }
    assert requests.get(f"{api}/get_status/").json() == count
    assert "get" in requests.get(f"{api}/").json()
    assert requests.get(f"{api}/refresh/").text == "success"


def test_pop_removes_and_delete_reports(api: str) -> None:
    popped = requests.get(f"{api}/pop/", headers=AUTH).json()
    assert "proxy" in popped
    assert all(p["proxy"] != popped["proxy"] for p in requests.get(f"{api}/all/").json())
    assert requests.post(f"{api}/delete/?proxy={popped['proxy']}", headers=AUTH).json() == {
        "code": 0,
        "src": False,
    }


def test_report_moves_scores(api: str, checked_pool: StoredProxyPool) -> None:
    first = requests.get(f"{api}/all/?domain=shop.test").json()[0]
    before = checked_pool.store.get(first["key"]).score
    r = requests.post(
        f"{api}/report",
        json={"key": first["key"], "outcome": "ban", "domain": "shop.test"},
        headers=AUTH,
    )
    assert r.json()["code"] == 0 and r.json()["src"] is True
    assert r.json()["benched"] == 60.0  # the ban benches it for that domain
    rec = checked_pool.store.get(first["key"])
    assert rec.score < before and rec.domain_scores["shop.test"] < 10
    assert requests.get(f"{api}/all/?domain=shop.test").json()[0]["key"] != first["key"]
    # by host:port as a query, too (a POST: no state changes through a plain GET)
    assert (
        requests.post(f"{api}/report/?proxy={first['proxy']}&outcome=success", headers=AUTH).json()[
            "src"
        ]
        is True
    )
    assert requests.get(f"{api}/report/?proxy={first['proxy']}&outcome=success").status_code == 405
    assert (
        requests.post(
            f"{api}/report", json={"key": first["key"], "outcome": "meh"}, headers=AUTH
        ).status_code
        == 400
    )
    assert (
        requests.post(
            f"{api}/report", json={"proxy": "10.255.0.1:1", "outcome": "success"}, headers=AUTH
        ).status_code
        == 404
    )


def test_http_api_client_pool(
    api: str, checked_pool: StoredProxyPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid = Proxy("127.0.0.1", 9, username="alice", password="pw-secret", paid=True, source="vendor")
    checked_pool.store.add([paid])
    from proxies.validator import CheckResult

    apply_results(
        checked_pool.store,
        checked_pool.policy,
        [CheckResult(paid, True, latency=0.01, anonymity=Anonymity.ELITE, https=True)],
    )
    raw = requests.get(f"{api}/all/?paid=1").text
    assert "pw-secret" not in raw and "alice" not in raw

    settings = {"PROXY_POOL_API_URL": api, "PROXY_POOL_API_CACHE": 0}
    client = HttpApiProxyPool.from_settings(settings)
    assert client.candidates("a.test", paid=True) == []  # no local credentials: skipped
    monkeypatch.setenv("PROXY_POOL_PAID_PROXIES", "http://alice:pw-secret@127.0.0.1:9")
    client = HttpApiProxyPool.from_settings({**settings, "PROXY_POOL_PAID": True})
    got = client.get("a.test")
    assert got == paid.__class__(
        "127.0.0.1", 9, username="alice", password="pw-secret", paid=True, source="paid-env"
    )
    assert got.key == paid.key
    free = HttpApiProxyPool.from_settings({**settings, "PROXY_POOL_PAID": "false"})
    cands = free.candidates("a.test")
    assert cands and all(not p.paid for p in cands)
    before = checked_pool.store.get(cands[0].key).score
    free.report(cands[0], Outcome.FAILURE, domain="a.test")
    assert free.flush(5)
    assert checked_pool.store.get(cands[0].key).score < before
    # the API gone: the client degrades to "no proxy", it does not raise
    gone = HttpApiProxyPool("http://127.0.0.1:9", timeout=0.5)
    assert gone.get("a.test") is None and gone.candidates("a.test") == []
    gone.report(cands[0], Outcome.SUCCESS)
