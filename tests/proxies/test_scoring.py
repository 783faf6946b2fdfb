"""Scores move as outcomes are reported; selection prefers the best, with spread."""

from __future__ import annotations

import random
import time
from collections import Counter

from proxies.checker import apply_results
from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool import StoredProxyPool, TargetCheck, memory_pool
from proxies.pool_store import EmbeddedStore, summary
from proxies.scoring import INITIAL_SCORE, Filters, ProxyRecord, ScoringPolicy
from proxies.validator import CheckResult


def proxies(n: int, source: str = "test", **kw) -> list[Proxy]:
    return [Proxy(f"10.0.0.{i + 1}", 8000 + i, source=source, **kw) for i in range(n)]


def alive(pool: StoredProxyPool, ps: list[Proxy], **kw) -> None:
    apply_results(
        pool.store,
        pool.policy,
        [
            CheckResult(p, True, latency=0.05, anonymity=Anonymity.ELITE, https=True, **kw)
            for p in ps
        ],
    )


def test_scores_move_with_reported_outcomes() -> None:
    ps = proxies(3)
    pool = memory_pool(ps)
    alive(pool, ps)
    rec = lambda p: pool.store.get(p.key)  # noqa: E731
    before = rec(ps[0]).score
    pool.report(ps[0], Outcome.SUCCESS, domain="shop.test", latency=0.2)
    assert rec(ps[0]).score > before
    assert rec(ps[0]).domain_scores["shop.test"] > INITIAL_SCORE
    pool.report(ps[1], Outcome.FAILURE, domain="shop.test")
    assert rec(ps[1]).score < before and rec(ps[1]).fail_streak == 1
    # a failed proxy is benched: not a candidate for a while
    assert ps[1] not in pool.candidates("shop.test")
    pool.report(ps[2], Outcome.BAN, domain="shop.test")
    assert rec(ps[2]).domain_scores["shop.test"] < INITIAL_SCORE
    assert rec(ps[2]).score < before  # a ban costs a little overall too
    # best first for the domain: the one that succeeded there
    assert pool.candidates("shop.test")[0] == ps[0]
    # the banned proxy is still fine elsewhere
    assert ps[2] in pool.candidates("other.test")


def test_repeated_failures_back_off_then_drop() -> None:
    ps = proxies(1)
    pool = memory_pool(ps, policy=ScoringPolicy(max_failures=3))
    alive(pool, ps)
    benches = []
    for _ in range(2):
        pool.report(ps[0], Outcome.FAILURE)
        benches.append(pool.store.get(ps[0].key).benched_until - time.time())
    assert benches[1] > benches[0] * 1.5  # exponential back-off
    pool.report(ps[0], Outcome.FAILURE)
    assert pool.store.get(ps[0].key) is None  # dead past the bound: dropped


def test_recheck_schedule_by_health() -> None:
    policy = ScoringPolicy(recheck_good=300, recheck_base=60, recheck_max=1000)
    rec = ProxyRecord(Proxy.parse("10.0.0.1:1"))
    policy.apply_check(rec, alive=True, latency=0.1, anonymity=None, https=None, now=0)
    assert rec.next_check_at == 300
    gaps = []
    for i in range(6):
        policy.apply_check(rec, alive=False, latency=None, anonymity=None, https=None, now=i * 10)
        gaps.append(rec.next_check_at - i * 10)
    assert gaps == [60, 120, 240, 480, 960, 1000]
    assert policy.is_dead(rec)


def test_selection_prefers_the_best_with_randomness() -> None:
    ps = proxies(20)
    pool = memory_pool(ps, policy=ScoringPolicy(pick_top=5), rng=random.Random(7))
    alive(pool, ps)
    for i, p in enumerate(ps):
        for _ in range(i):
            pool.report(p, Outcome.SUCCESS)
    picks = Counter(pool.get("x.test") for _ in range(500))
    best5 = set(ps[-5:])
    assert set(picks) <= best5
    assert len(picks) >= 4  # load spreads over the best


def test_latency_and_anonymity_count() -> None:
    ps = proxies(2)
    pool = memory_pool(ps)
    apply_results(pool.store, pool.policy, [
        CheckResult(ps[0], True, latency=2.0, anonymity=Anonymity.TRANSPARENT),
        CheckResult(ps[1], True, latency=0.05, anonymity=Anonymity.ELITE),
    ])  # fmt: skip
    assert pool.candidates("a.test") == [ps[1], ps[0]]
    assert pool.candidates("a.test", anonymity="elite") == [ps[1]]
    assert pool.candidates("a.test", anonymity=Anonymity.ANONYMOUS) == [ps[1]]


def test_paid_and_free_are_kept_apart() -> None:
    free, paid = (
        proxies(2),
        [Proxy("10.9.9.9", 3128, username="u", password="p", paid=True, source="vendor")],
    )
    pool = memory_pool(free + paid)
    alive(pool, free + paid)
    assert pool.candidates("a.test", paid=True) == paid
    assert set(pool.candidates("a.test", paid=False)) == set(free)
    paid_only = memory_pool(free + paid, filters=Filters(paid=True))
    alive(paid_only, free + paid)
    assert paid_only.candidates("a.test") == paid


def test_target_pool_serves_proven_proxies() -> None:
    ps = proxies(4)
    pool = memory_pool(ps, targets=[TargetCheck("shop.test", "http://shop.test/check", "ok")])
    alive(pool, ps[:2], targets={"shop.test": True})
    alive(pool, ps[2:], targets={"shop.test": False})
    assert set(pool.candidates("www.shop.test")) == set(ps[:2])
    assert set(pool.candidates("elsewhere.test")) == set(ps)


def test_embedded_store_persists_to_sqlite(tmp_path) -> None:
    db = tmp_path / "proxies.db"
    store = EmbeddedStore(db)
    ps = proxies(3) + [Proxy("10.9.9.9", 3128, username="u", password="s3cret", paid=True)]
    assert store.add(ps) == 4
    assert store.add(ps) == 0  # known proxies keep their history
    pool = StoredProxyPool(store)
    alive(pool, ps)
    pool.report(ps[0], Outcome.SUCCESS, domain="a.test")
    store.remove([ps[1].key])
    store.close()
    again = EmbeddedStore(db)
    assert again.count() == 3
    rec = again.get(ps[0].key)
    assert (
        rec.alive
        and rec.domain_scores["a.test"] > INITIAL_SCORE
        and rec.anonymity is Anonymity.ELITE
    )
    assert again.get(ps[3].key).proxy.password == "s3cret"  # the downloader needs it back
    stats = summary(again.all())
    assert stats["alive"] == 3 and stats["paid"] == 1 and stats["sources"]["test"]["total"] == 2
    assert "s3cret" not in str(stats) and "s3cret" not in str(
        [r.public_dict() for r in again.all()]
    )


def test_embedded_store_keeps_the_order_proxies_were_added_in(tmp_path) -> None:
    """Sources list proxies in an order (and checks start in it); a reopened store, after
    updates, reads them back in that order, not in the order of their keys."""
    db = tmp_path / "proxies.db"
    ps = [Proxy(f"10.0.{i // 250}.{i % 250}", 8000 + i, source="test") for i in range(300)]
    store = EmbeddedStore(db)
    store.add(ps)
    store.flush()
    alive(StoredProxyPool(store), list(reversed(ps)))  # updates, in the reverse order
    store.close()
    assert [r.proxy.key for r in EmbeddedStore(db).all()] == [p.key for p in ps]


def test_from_settings_builds_an_embedded_pool(tmp_path) -> None:
    from proxies.pool import EmbeddedProxyPool

    settings = {
        "PROXY_POOL_STORE": f"sqlite:///{tmp_path}/p.db",
        "PROXY_POOL_PAID": "false",
        "PROXY_POOL_MIN_ANONYMITY": "anonymous",
    }
    pool = EmbeddedProxyPool.from_settings(settings)
    assert pool.filters == Filters(paid=False, min_anonymity=Anonymity.ANONYMOUS)
    assert pool.get("a.test") is None
    pool.close()


def test_a_ban_benches_for_that_domain_only_and_report_says_how_long() -> None:
    ps = proxies(2)
    pool = memory_pool(ps, policy=ScoringPolicy(ban_bench_base=60))
    alive(pool, ps)
    assert pool.report(ps[0], Outcome.BAN, domain="shop.test") == 60
    assert pool.report(ps[0], Outcome.BAN, domain="shop.test") == 120  # doubles
    assert pool.candidates("shop.test") == [ps[1]]
    assert ps[0] in pool.candidates("other.test")
    assert pool.report(ps[1], Outcome.FAILURE) == pool.policy.bench_base
    assert pool.report(ps[1], Outcome.SUCCESS) == 0.0
    rec = pool.store.get(ps[0].key)
    again = ProxyRecord.from_json(rec.to_json())
    assert (
        again.domain_bans == {"shop.test": 2}
        and again.domain_benched_until == rec.domain_benched_until
    )


def test_embedded_store_sees_another_process_checks(tmp_path) -> None:
    db = tmp_path / "shared.db"
    crawler_side = EmbeddedStore(db, reload_interval=0.0)
    pool = StoredProxyPool(crawler_side)
    ps = proxies(2)
    checker_side = EmbeddedStore(db)
    checker_side.add(ps)
    apply_results(checker_side, ScoringPolicy(), [CheckResult(p, True, latency=0.1) for p in ps])
    checker_side.close()
    assert set(pool.candidates("a.test")) == set(ps)
    crawler_side.close()
