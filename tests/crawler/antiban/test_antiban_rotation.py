"""crawler.antiban.proxy_rotation: the proxy rotation policies."""

from __future__ import annotations

import pytest

from crawler.antiban.proxy_rotation import (
    POLICIES,
    LeastRecentlyUsedPolicy,
    RandomPolicy,
    StickySessionPolicy,
    policy_class,
)
from proxies.model import Proxy

A, B, C = (Proxy.parse(f"127.0.0.1:{i}") for i in (1, 2, 3))


def test_lru_uses_every_proxy_before_reusing_one():
    lru = LeastRecentlyUsedPolicy()
    picks = [lru.choose([A, B, C], domain="x", session=None) for _ in range(6)]
    assert set(picks[:3]) == {A, B, C} and picks[3:] == picks[:3]


def test_sticky_session_keeps_a_proxy_per_session_and_moves_when_benched():
    sticky = StickySessionPolicy()
    s1 = sticky.choose([A, B, C], domain="x", session="s1")
    s2 = sticky.choose([A, B, C], domain="x", session="s2")
    assert s1 != s2
    assert all(sticky.choose([A, B, C], domain="x", session="s1") == s1 for _ in range(5))
    rest = [p for p in (A, B, C) if p != s1]
    moved = sticky.choose(rest, domain="x", session="s1")
    assert moved in rest
    assert sticky.choose([A, B, C], domain="x", session="s1") == moved


def test_policy_class():
    assert policy_class("random") is RandomPolicy
    assert policy_class("crawler.antiban.proxy_rotation.RandomPolicy") is RandomPolicy
    with pytest.raises(ValueError, match="fastest"):
        policy_class("fastest")


def test_a_rule_may_name_exactly_the_policies_there_are():
    from crawler.rules.sections.antiban import POLICY_NAMES

    assert set(POLICY_NAMES) == set(POLICIES)
