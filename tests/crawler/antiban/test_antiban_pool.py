"""proxies.static.StaticProxyPool: sources, identity, per-domain bans, global failures, backoff."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from proxies.model import Outcome, Proxy
from proxies.static import StaticProxyPool, parse_proxy_list


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pool(*proxies: str, **kwargs) -> tuple[StaticProxyPool, Clock]:
    clock = Clock()
    return StaticProxyPool(proxies, clock=clock, **kwargs), clock


def test_sources_list_string_file_and_env(tmp_path, monkeypatch):
    f = tmp_path / "proxies.txt"
    f.write_text("# office\n10.0.0.3:3128\n\n")
    monkeypatch.setenv("MY_PROXIES", "10.0.0.4:3128,10.0.0.5:3128")
    settings = Settings(
        {
            "PROXY_LIST": "10.0.0.1:3128\n10.0.0.2:3128",
            "PROXY_LIST_FILE": str(f),
            "PROXY_LIST_ENV": "MY_PROXIES",
        }
    )
    pool = StaticProxyPool.from_settings(settings)
    assert sorted(p.host for p in pool.proxies) == [f"10.0.0.{i}" for i in range(1, 6)]
    assert len(StaticProxyPool.from_settings(Settings({"PROXY_LIST": ["a:1", "b:2"]}))) == 2


def test_bad_entries_fail_with_masked_text():
    with pytest.raises(ValueError) as err:
        StaticProxyPool(["http://bob:pw@host"])
    assert "pw" not in str(err.value) and "needs host:port" in str(err.value)
    assert parse_proxy_list(None) == []


def test_proxies_differing_only_in_credentials_are_distinct():
    pool, _ = make_pool(
        "http://s1:pw@gw.example:7000", "http://s2:pw@gw.example:7000", "gw.example:7000"
    )
    assert len(pool) == 3
    labels = {p.label for p in pool.proxies}
    assert len(labels) == 3 and not any("s1" in label or "pw" in label for label in labels)


def test_ban_benches_for_that_domain_only_with_exponential_backoff():
    pool, clock = make_pool("10.0.0.1:1", "10.0.0.2:2", ban_backoff=10, backoff_max=35)
    a = pool.proxies[0]
    assert pool.report(a, Outcome.BAN, domain="shop.example") == 10
    assert a not in pool.candidates("shop.example")
    assert a in pool.candidates("news.example")
    # Reports of requests sent before the bench are not new strikes.
    assert pool.report(a, Outcome.BAN, domain="shop.example") == 0
    clock.now += 10
    assert a in pool.candidates("shop.example")
    assert pool.report(a, Outcome.BAN, domain="shop.example") == 20
    clock.now += 20
    assert pool.report(a, Outcome.BAN, domain="shop.example") == 35  # capped
    clock.now += 35
    pool.report(a, Outcome.SUCCESS, domain="shop.example")
    assert pool.report(a, Outcome.BAN, domain="shop.example") == 10  # the streak was cleared


def test_failure_benches_everywhere_and_next_available():
    pool, clock = make_pool("10.0.0.1:1", failure_backoff=5)
    (a,) = pool.proxies
    assert pool.get("x") == a
    pool.report(a, Outcome.FAILURE, domain="x")
    assert pool.candidates("x") == [] and pool.candidates("y") == [] and pool.get("y") is None
    assert pool.next_available_in("y") == pytest.approx(5)
    clock.now += 5
    assert pool.candidates("y") == [a]


def test_candidates_best_first():
    pool, clock = make_pool("10.0.0.1:1", "10.0.0.2:2", failure_backoff=1)
    a, b = pool.proxies
    pool.report(a, Outcome.FAILURE)
    clock.now += 2
    assert pool.candidates("x") == [b, a]
    assert isinstance(pool.get("x"), Proxy)
