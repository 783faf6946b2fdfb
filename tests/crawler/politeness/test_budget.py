"""crawler/politeness/budget.py: a host's rate and concurrency, granted or waited for, paused
for everyone by a slow-down; in one process (LocalBudget) and through a real Redis
(RedisBudget), with the same answers."""

from __future__ import annotations

import time

import pytest

from crawler.politeness.budget import Limits, LocalBudget, RedisBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_host_without_limits_costs_nothing():
    budget = LocalBudget()
    for _ in range(100):
        grant = budget.take("free.example", Limits())
        assert grant.lease is not None and not grant.lease.counted
    assert budget.hosts() == []


def test_rate_spaces_grants_without_bursts():
    clock = Clock()
    budget = LocalBudget(clock)
    five = Limits(rate=5)
    assert budget.take("h", five).lease is not None
    second = budget.take("h", five)
    assert second.lease is None and second.why == "rate" and second.wait == pytest.approx(0.2)
    clock.now += 0.2
    assert budget.take("h", five).lease is not None
    clock.now += 10  # idle time is not saved up: still one every 0.2 s
    assert budget.take("h", five).lease is not None
    assert budget.take("h", five).lease is None
    assert budget.take("other", five).lease is not None  # hosts do not share


def test_concurrency_holds_places_until_they_are_given_back():
    budget = LocalBudget(Clock())
    two = Limits(concurrency=2)
    first, second = budget.take("h", two).lease, budget.take("h", two).lease
    assert first and second and first.counted
    third = budget.take("h", two)
    assert third.lease is None and third.why == "concurrency"
    budget.give_back(first)
    assert budget.take("h", two).lease is not None
    (host,) = budget.hosts()
    assert host["in_flight"] == 2 and host["granted"] == 3 and host["waited"] == 1


def test_a_slowed_host_waits_for_everyone():
    clock = Clock()
    budget = LocalBudget(clock)
    budget.slow("h", 7, "http_429")
    grant = budget.take("h", Limits(rate=100))
    assert grant.lease is None and grant.why == "slowed" and grant.wait == pytest.approx(7)
    clock.now += 7
    assert budget.take("h", Limits(rate=100)).lease is not None
    assert budget.hosts()[0]["slowed"] == 1


def test_redis_gives_the_same_answers_and_leases_expire(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    budget = RedisBudget(client, lease_ttl=0.3)
    other_process = RedisBudget(redis.Redis.from_url(redis_url), lease_ttl=0.3)
    limits = Limits(rate=10, concurrency=1)
    lease = budget.take("h", limits).lease
    assert lease is not None and lease.counted
    busy = other_process.take("h", limits)
    assert busy.lease is None and busy.why == "concurrency"
    budget.give_back(lease)
    time.sleep(0.1)
    assert other_process.take("h", limits).lease is not None  # given back: the other gets it
    rate = budget.take("h", Limits(rate=10))
    assert rate.lease is None and rate.why == "rate" and 0 < rate.wait <= 0.1
    # a process that dies holding a lease holds the host for its ttl only
    held = budget.take("dying", Limits(concurrency=1)).lease
    assert held is not None and other_process.take("dying", Limits(concurrency=1)).lease is None
    time.sleep(0.35)
    assert other_process.take("dying", Limits(concurrency=1)).lease is not None
    other_process.slow("h", 2, "ban")
    slowed = budget.take("h", Limits(rate=10))
    assert slowed.why == "slowed" and 1.5 < slowed.wait <= 2
    hosts = {h["host"]: h for h in budget.hosts()}
    assert set(hosts) == {"h", "dying"}
    assert hosts["h"]["slowed"] == 1 and hosts["h"]["rate"] == 10 and hosts["h"]["paused_for"] > 1
    assert hosts["dying"]["in_flight"] == 1 and hosts["dying"]["concurrency"] == 1


def test_the_data_service_shows_each_hosts_budget_and_use(tmp_path, redis_url):
    import redis

    from tests.crawler.service.conftest import make_service

    budget = RedisBudget(redis.Redis.from_url(redis_url))
    for _ in range(3):
        budget.take("www.example.gov.cn", Limits(rate=1, concurrency=2))
    budget.slow("www.example.gov.cn", 60, "http_429")
    for service in make_service("sqlite", tmp_path, HOST_BUDGET_REDIS_URL=redis_url):
        answer = service.client.get("/api/hosts").json()
    assert answer["shared"] is True
    (host,) = answer["hosts"]
    assert host["host"] == "www.example.gov.cn" and host["rate"] == 1
    assert host["concurrency"] == 2 and host["granted"] == 1 and host["in_flight"] == 1
    assert host["waited"] == 2 and host["slowed"] == 1 and 55 < host["paused_for"] <= 60
    for service in make_service("sqlite", tmp_path / "alone"):
        assert service.client.get("/api/hosts").json() == {"shared": False, "hosts": []}
