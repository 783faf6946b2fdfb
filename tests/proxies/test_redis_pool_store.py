"""The Redis store shared by two real processes, against a redis-server of our own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from proxies.checker import apply_results
from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool import RedisProxyPool
from proxies.redis_pool_store import RedisStore
from proxies.scoring import INITIAL_SCORE
from proxies.validator import CheckResult

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import sys
    from proxies.model import Outcome, Proxy
    from proxies.pool import RedisProxyPool

    url, prefix, role, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    pool = RedisProxyPool.from_settings({"PROXY_POOL_STORE": url, "PROXY_POOL_REDIS_PREFIX": prefix})
    target = Proxy("10.0.0.1", 8001, source="shared")
    if role == "report":
        for _ in range(n):
            pool.report(target, Outcome.SUCCESS, domain="shop.test", latency=0.1)
    elif role == "read":
        print(",".join(p.address for p in pool.candidates("shop.test")))
    pool.close()
    """
)


def run_worker(url: str, prefix: str, role: str, n: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, prefix, role, str(n)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture()
def pool(redis_url: str, request: pytest.FixtureRequest):
    prefix = f"test-{request.node.name}"
    pool = RedisProxyPool.from_settings(
        {"PROXY_POOL_STORE": redis_url, "PROXY_POOL_REDIS_PREFIX": prefix}
    )
    pool.store.clear()
    yield pool
    pool.store.clear()
    pool.close()


def test_two_processes_share_one_pool(pool: RedisProxyPool, redis_url: str) -> None:
    ps = [Proxy(f"10.0.0.{i}", 8000 + i, source="shared") for i in range(1, 6)]
    assert pool.store.add(ps) == 5
    apply_results(
        pool.store,
        pool.policy,
        [CheckResult(p, True, latency=0.05, anonymity=Anonymity.ELITE) for p in ps],
    )
    prefix = pool.store.prefix
    # two processes report on the same proxy at the same time: every report counts
    workers = [run_worker(redis_url, prefix, "report", 60) for _ in range(2)]
    for w in workers:
        out, err = w.communicate(timeout=30)
        assert w.returncode == 0, err
    rec = pool.store.get(ps[0].key)
    assert rec.successes == 120
    assert rec.domain_scores["shop.test"] == 100.0 and rec.score == 100.0
    # a third process sees the ranking the other two made
    reader = run_worker(redis_url, prefix, "read")
    out, err = reader.communicate(timeout=30)
    assert reader.returncode == 0, err
    assert out.strip().split(",")[0] == "10.0.0.1:8001"
    assert len(out.strip().split(",")) == 5


def test_redis_pool_behaves_like_the_embedded_one(pool: RedisProxyPool) -> None:
    free = [Proxy(f"10.0.1.{i}", 9000 + i, source="free") for i in range(1, 4)]
    paid = Proxy("10.0.2.1", 3128, username="u", password="s3cret", paid=True, source="vendor")
    pool.store.add(free + [paid])
    apply_results(
        pool.store,
        pool.policy,
        [
            CheckResult(p, True, latency=0.05, anonymity=Anonymity.ANONYMOUS, https=True)
            for p in free + [paid]
        ],
    )
    assert pool.candidates("a.test", paid=True) == [paid]
    assert pool.store.get(paid.key).proxy.password == "s3cret"
    assert set(pool.candidates("a.test", paid=False)) == set(free)
    assert pool.candidates("a.test", anonymity="elite") == []
    pool.report(free[0], Outcome.FAILURE, domain="a.test")
    assert free[0] not in pool.candidates("a.test")  # benched
    pool.report(free[1], Outcome.BAN, domain="a.test")
    assert pool.store.get(free[1].key).domain_scores["a.test"] < INITIAL_SCORE
    assert pool.get("a.test") in (free[2], paid)
    assert len(pool.store.due(float("inf"))) == 4
    assert pool.store.remove([free[2].key]) == 1 and pool.store.count() == 3
    pool.store.add(free)
    assert pool.store.count() == 4 and pool.store.get(free[0].key).fail_streak == 1  # history kept


def test_redis_store_from_settings_and_proven_pool(redis_url: str) -> None:
    from proxies.pool_store import open_pool_store

    store = open_pool_store(
        {"PROXY_POOL_STORE": redis_url, "PROXY_POOL_REDIS_PREFIX": "test-proven"}
    )
    assert isinstance(store, RedisStore)
    store.clear()
    pool = RedisProxyPool.from_settings({
        "PROXY_POOL_STORE": redis_url,
        "PROXY_POOL_REDIS_PREFIX": "test-proven",
        "PROXY_POOL_TARGETS": {"shop.test": {"url": "http://shop.test/", "marker": "ok"}},
    })  # fmt: skip
    ps = [Proxy(f"10.0.3.{i}", 7000 + i) for i in range(1, 5)]
    pool.store.add(ps)
    apply_results(
        pool.store,
        pool.policy,
        [
            CheckResult(p, True, latency=0.05, targets={"shop.test": i < 2})
            for i, p in enumerate(ps)
        ],
    )
    assert set(pool.candidates("www.shop.test")) == set(ps[:2])
    store.clear()
    pool.close()


def test_api_over_the_redis_pool(pool: RedisProxyPool) -> None:
    import requests

    from tests.proxies.test_api import ApiThread

    ps = [Proxy(f"10.0.4.{i}", 6000 + i, source="shared") for i in range(1, 4)]
    pool.store.add(ps)
    apply_results(
        pool.store,
        pool.policy,
        [CheckResult(p, True, latency=0.05, https=i == 0) for i, p in enumerate(ps)],
    )
    from tests.proxies.test_api import AUTH

    with ApiThread(pool) as api:
        assert requests.get(f"{api}/count/").json()["count"] == 3
        assert requests.get(f"{api}/get/?type=https").json()["proxy"] == "10.0.4.1:6001"
        assert requests.post(f"{api}/delete/?proxy=10.0.4.2:6002", headers=AUTH).json() == {
            "code": 0,
            "src": True,
        }
        assert requests.post(
            f"{api}/report",
            json={"proxy": "10.0.4.3:6003", "outcome": "ban", "domain": "x.test"},
            headers=AUTH,
        ).json()["src"]
    assert pool.store.count() == 2
    assert pool.store.get(ps[2].key).bans == 1
