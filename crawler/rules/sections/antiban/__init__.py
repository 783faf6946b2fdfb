"""``antiban:``: impersonation, user agents, proxies, ban detection and cookie sessions of a
rule's crawl.

Every key maps to a Scrapy setting (docs/antiban.md), so the middlewares read one thing:
settings. A rule is data: it picks a proxy pool and a rotation policy by name, never by class
path, and reads no local file (cookie files and proxy list files are project settings).
Example::

    antiban:
      # impersonate: chrome      # Chrome's TLS/HTTP2 fingerprint and headers (curl_cffi);
      #                          # the user agent then follows it: no user_agent filters
      user_agent: {browsers: [chrome, edge], platforms: [desktop], min_version: {chrome: 120}}
      proxies: {policy: sticky_domain, env: SHOP_PROXIES, direct: fallback}
      ban: {markers: ["Are you a robot"], retries: 6}
      sessions:
        count: 3
        # accounts: shop           # each session leases an account of the deployment's pool
        login: {url: "https://shop.example/login", success_marker: "Sign out",
                form: {email: "${SHOP_USER}", password: "${SHOP_PASSWORD}"}}

>>> antiban_settings({"proxies": {"policy": "lru", "list": ["10.0.0.1:3128"]}, "ban": {"retries": 3}})
{'PROXY_POLICY': 'lru', 'PROXY_LIST': ['10.0.0.1:3128'], 'BAN_RETRY_TIMES': 3}
>>> antiban_settings({"sessions": {"accounts": "shop", "count": 2}})
{'ACCOUNTS_POOL': 'shop', 'SESSION_COUNT': 2}
>>> antiban_settings({"impersonate": "chrome"})
{'IMPERSONATE': 'chrome'}
>>> antiban_settings({"proxies": {"pool": "embedded"}})
{'PROXY_POOL_CLASS': 'proxies.pool.EmbeddedProxyPool'}
>>> check_antiban({"ban": {"markers": ["(broken"]}})[0][0]
'ban.markers[0]'
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.problems import split_path
from crawler.rules.sections import Section
from crawler.rules.sections.antiban.checks import check_antiban
from crawler.rules.sections.antiban.schema import (
    ANTIBAN_SCHEMA,
    IMPERSONATE_TARGETS,
    POLICY_NAMES,
    POOLS,
)

__all__ = [
    "ANTIBAN_SCHEMA",
    "IMPERSONATE_TARGETS",
    "POLICY_NAMES",
    "POOLS",
    "SECTION",
    "antiban_settings",
    "check_antiban",
]

# section path -> setting name, for the keys that map one to one.
_DIRECT_KEYS: dict[tuple[str, str], str] = {
    ("user_agent", "fixed"): "USER_AGENT_FIXED",
    ("user_agent", "rotate"): "USER_AGENT_ROTATE",
    ("user_agent", "browsers"): "USER_AGENT_BROWSERS",
    ("user_agent", "os"): "USER_AGENT_OS",
    ("user_agent", "platforms"): "USER_AGENT_PLATFORMS",
    ("user_agent", "min_version"): "USER_AGENT_MIN_VERSION",
    ("user_agent", "accept_language"): "USER_AGENT_ACCEPT_LANGUAGE",
    ("proxies", "policy"): "PROXY_POLICY",
    ("proxies", "list"): "PROXY_LIST",
    ("proxies", "env"): "PROXY_LIST_ENV",
    ("proxies", "paid_only"): "PROXY_PAID_ONLY",
    ("proxies", "direct"): "PROXY_DIRECT",
    ("proxies", "ban_backoff"): "PROXY_BAN_BACKOFF",
    ("proxies", "failure_backoff"): "PROXY_FAILURE_BACKOFF",
    ("proxies", "backoff_max"): "PROXY_BACKOFF_MAX",
    ("proxies", "wait_max"): "PROXY_WAIT_MAX",
    ("proxies", "download_timeout"): "PROXY_DOWNLOAD_TIMEOUT",
    ("ban", "statuses"): "BAN_EXTRA_STATUSES",
    ("ban", "markers"): "BAN_EXTRA_MARKERS",
    ("ban", "login_url_patterns"): "BAN_EXTRA_LOGIN_URL_PATTERNS",
    ("ban", "empty_body"): "BAN_EMPTY_BODY",
    ("ban", "retries"): "BAN_RETRY_TIMES",
    ("ban", "retry_delay"): "BAN_RETRY_DELAY",
    ("ban", "retry_after_max"): "BAN_RETRY_AFTER_MAX",
    ("sessions", "count"): "SESSION_COUNT",
    ("sessions", "rotate"): "SESSION_ROTATE",
    ("sessions", "max_bans"): "SESSION_MAX_BANS",
    ("sessions", "accounts"): "ACCOUNTS_POOL",
}
_LOGIN_KEYS = {
    "url": "SESSION_LOGIN_URL",
    "form": "SESSION_LOGIN_FORM",
    "success_marker": "SESSION_LOGIN_SUCCESS_MARKER",
    "failure_marker": "SESSION_LOGIN_FAILURE_MARKER",
    "max_failures": "SESSION_LOGIN_MAX_FAILURES",
}


def antiban_settings(section: dict[str, Any] | None) -> dict[str, Any]:
    """The Scrapy settings a (schema-valid) ``antiban:`` section stands for."""
    out: dict[str, Any] = {}
    for group, values in (section or {}).items():
        if group == "impersonate":
            out["IMPERSONATE"] = values
            continue
        for key, value in (values or {}).items():
            if (group, key) == ("proxies", "pool"):
                out["PROXY_POOL_CLASS"] = POOLS[value]
            elif (group, key) in _DIRECT_KEYS:
                out[_DIRECT_KEYS[(group, key)]] = value
            elif (group, key) == ("sessions", "login"):
                for lkey, lvalue in value.items():
                    out[_LOGIN_KEYS[lkey]] = lvalue
    return out


def build(ctx: BuildContext) -> MappingProxyType:
    section = ctx.data.get("antiban")
    if not isinstance(section, dict) or ctx.broken(("antiban",)):
        return MappingProxyType({})
    for sub, message in check_antiban(section, ctx.env.environ, ctx.env.user_agents):
        path = ("antiban", *split_path(sub))
        if message.startswith("warning: "):
            ctx.warning(path, message.removeprefix("warning: "))
        else:
            ctx.error(path, message)
    return MappingProxyType(dict(section))


SECTION = Section(
    name="antiban",
    order=50,
    properties={"antiban": ANTIBAN_SCHEMA},
    build=build,
    settings=antiban_settings,
)
