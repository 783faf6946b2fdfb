"""crawler.rules.sections.antiban: the antiban: section's schema, checks and settings."""

from __future__ import annotations

import doctest

import pytest
import yaml
from jsonschema import Draft202012Validator

import crawler.antiban.ban_policy
import crawler.antiban.cookie_sessions
import crawler.antiban.proxy_rotation
import crawler.antiban.retry_after
import crawler.antiban.useragents
import crawler.rules.sections.antiban
import proxies.static
from crawler.antiban import check_user_agent_filters
from crawler.rules.sections.antiban import ANTIBAN_SCHEMA, antiban_settings, check_antiban

EXAMPLE = """
user_agent: {browsers: [chrome, edge], platforms: [desktop], min_version: {chrome: 120}}
proxies: {policy: sticky_domain, env: SHOP_PROXIES, direct: fallback, download_timeout: 20}
ban: {markers: ["Are you a robot"], statuses: [418], login_url_patterns: ["/gate"], retries: 6}
sessions:
  count: 3
  rotate: random
  login:
    url: https://shop.example/login
    form: {email: "${SHOP_USER}", password: "${SHOP_PASSWORD}"}
    success_marker: Sign out
"""


@pytest.mark.parametrize(
    "module",
    [
        crawler.antiban.ban_policy,
        crawler.antiban.retry_after,
        crawler.antiban.proxy_rotation,
        crawler.rules.sections.antiban,
        crawler.antiban.cookie_sessions,
        crawler.antiban.useragents,
        proxies.static,
    ],
)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_schema_is_valid_and_strict():
    Draft202012Validator.check_schema(ANTIBAN_SCHEMA)
    validator = Draft202012Validator(ANTIBAN_SCHEMA)
    assert list(validator.iter_errors(yaml.safe_load(EXAMPLE))) == []
    bad = {"proxies": {"policy": "fastest", "lst": []}, "ban": {"retries": -1}, "extra": 1}
    messages = " | ".join(e.message for e in validator.iter_errors(bad))
    assert "fastest" in messages and "'lst' was unexpected" in messages
    assert "'extra' was unexpected" in messages and "minimum" in messages


def _strict_everywhere(schema):
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            assert schema.get("additionalProperties") is False, schema.get("description")
            assert all("description" in p for p in schema["properties"].values())
        for value in schema.values():
            _strict_everywhere(value)


def test_every_object_is_closed_and_described():
    _strict_everywhere(ANTIBAN_SCHEMA)


def test_settings_from_the_example():
    s = antiban_settings(yaml.safe_load(EXAMPLE))
    assert s == {
        "USER_AGENT_BROWSERS": ["chrome", "edge"],
        "USER_AGENT_PLATFORMS": ["desktop"],
        "USER_AGENT_MIN_VERSION": {"chrome": 120},
        "PROXY_POLICY": "sticky_domain",
        "PROXY_LIST_ENV": "SHOP_PROXIES",
        "PROXY_DIRECT": "fallback",
        "PROXY_DOWNLOAD_TIMEOUT": 20,
        "BAN_EXTRA_MARKERS": ["Are you a robot"],
        "BAN_EXTRA_STATUSES": [418],
        "BAN_EXTRA_LOGIN_URL_PATTERNS": ["/gate"],
        "BAN_RETRY_TIMES": 6,
        "SESSION_COUNT": 3,
        "SESSION_ROTATE": "random",
        "SESSION_LOGIN_URL": "https://shop.example/login",
        "SESSION_LOGIN_FORM": {"email": "${SHOP_USER}", "password": "${SHOP_PASSWORD}"},
        "SESSION_LOGIN_SUCCESS_MARKER": "Sign out",
    }
    assert antiban_settings(None) == {}


def test_checks(monkeypatch):
    monkeypatch.delenv("SHOP_PASSWORD", raising=False)
    monkeypatch.setenv("SHOP_USER", "ann")
    problems = dict(check_antiban(yaml.safe_load(EXAMPLE), user_agents=check_user_agent_filters))
    assert problems["sessions.login.form.password"].startswith("warning: ")
    assert "sessions.login.form.email" not in problems
    problems = dict(
        check_antiban(
            {
                "user_agent": {"browsers": ["chrome"], "min_version": {"chrome": 999}},
                "ban": {"markers": ["ok", "(broken"]},
                "proxies": {"list": ["http://u:p@10.0.0.1:3128", "nohost"]},
            },
            user_agents=check_user_agent_filters,
        )
    )
    assert "no user agent" in problems["user_agent"]
    assert "bad regular expression" in problems["ban.markers[1]"]
    assert (
        problems["proxies.list[0]"].startswith("warning:")
        and ":p@" not in problems["proxies.list[0]"]
    )
    assert "host:port" in problems["proxies.list[1]"]
    assert (
        "unknown browser"
        in dict(
            check_antiban(
                {"user_agent": {"browsers": ["netscape"]}}, user_agents=check_user_agent_filters
            )
        )["user_agent.browsers[0]"]
    )
    assert (
        check_antiban(
            {"user_agent": {"os": ["windows"], "platforms": ["desktop"]}},
            user_agents=check_user_agent_filters,
        )
        == []
    )
