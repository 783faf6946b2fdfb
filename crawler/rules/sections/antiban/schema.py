"""The JSON Schema of a rule's ``antiban:`` section, and the names a rule may choose from."""

from __future__ import annotations

from typing import Any

# The kinds of device a rule's user agents may be for (fake-useragent's "type").
PLATFORMS = ("desktop", "mobile", "tablet")
POLICY_NAMES = ("random", "round_robin", "lru", "sticky_domain", "sticky_session")
# The proxy pools a rule may name, and the classes the platform builds for them.
POOLS = {
    "static": "proxies.static.StaticProxyPool",
    "embedded": "proxies.pool.EmbeddedProxyPool",
    "redis": "proxies.pool.RedisProxyPool",
    "api": "proxies.client.HttpApiProxyPool",
}

# The browsers a rule may impersonate (``antiban.impersonate``): curl_cffi's targets, written out
# here because the rule compiler imports neither Scrapy nor curl_cffi. A test holds this list to
# curl_cffi's ``BrowserType`` and its aliases; move them together when curl_cffi is upgraded.
IMPERSONATE_ALIASES = (
    "chrome",
    "chrome_android",
    "edge",
    "firefox",
    "safari",
    "safari_beta",
    "safari_ios",
    "safari_ios_beta",
    "tor",
)
IMPERSONATE_TARGETS = (
    *IMPERSONATE_ALIASES,
    *("edge99", "edge101"),
    *("chrome99", "chrome100", "chrome101", "chrome104", "chrome107", "chrome110", "chrome116"),
    *("chrome119", "chrome120", "chrome123", "chrome124", "chrome131", "chrome133a", "chrome136"),
    *("chrome142", "chrome145", "chrome146", "chrome150", "chrome151", "chrome151_macos"),
    *("chrome152", "chrome152_macos", "chrome99_android", "chrome131_android"),
    *("safari153", "safari155", "safari170", "safari172_ios", "safari180", "safari180_ios"),
    *("safari184", "safari184_ios", "safari260", "safari260_ios", "safari2601", "safari270"),
    *("safari270_ios", "safari15_3", "safari15_5", "safari17_0", "safari17_2_ios"),
    *("safari18_0", "safari18_0_ios"),
    *("firefox133", "firefox135", "firefox144", "firefox147", "firefox153", "firefox154"),
    *("firefox155", "tor145"),
)

_REGEX_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
_SECONDS = {"type": "number", "minimum": 0}

# Draft 2020-12. No "$schema" key: the rule schema embeds this one as a plain subschema.
ANTIBAN_SCHEMA: dict[str, Any] = {
    "title": "antiban",
    "description": "Anti-ban behaviour of this rule's crawl: user agents, proxies, ban "
    "detection and cookie sessions. Every key maps to a Scrapy setting (docs/antiban.md).",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "impersonate": {
            "description": "Present this browser's TLS and HTTP/2 fingerprint and its own "
            "headers (curl_cffi's targets: chrome, edge, firefox, safari, chrome131, ...); the "
            "user agent follows the target (docs/antiban.md#impersonation).",
            "type": "string",
            "minLength": 1,
        },
        "user_agent": {
            "description": "Which browser identities the crawl presents.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "fixed": {
                    "description": "One User-Agent for every request; rotation and filters are off.",
                    "type": "string",
                    "minLength": 1,
                },
                "rotate": {
                    "description": "Rotate browser profiles (default true).",
                    "type": "boolean",
                },
                "browsers": {
                    "description": "Browsers to pick from: chrome, edge, firefox, safari, opera, "
                    "samsung, yandex, or fake-useragent's names.",
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "minItems": 1,
                },
                "os": {
                    "description": "Operating systems: windows, macos, linux, chromeos, android, ios.",
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "minItems": 1,
                },
                "platforms": {
                    "description": "Device types (default [desktop]).",
                    "type": "array",
                    "items": {"enum": list(PLATFORMS)},
                    "minItems": 1,
                },
                "min_version": {
                    "description": "Lowest major version per browser, e.g. {chrome: 120}.",
                    "type": "object",
                    "additionalProperties": {"type": "number", "minimum": 0},
                },
                "accept_language": {
                    "description": "The Accept-Language the profiles send.",
                    "type": "string",
                    "minLength": 1,
                },
            },
        },
        "proxies": {
            "description": "Where requests go out from.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pool": {
                    "description": "Which proxy pool: static (the list below, the default), "
                    "embedded (the pool service's store, in process), redis (shared) or api "
                    "(`scrapy proxies serve`).",
                    "enum": list(POOLS),
                },
                "list": {
                    "description": "Proxies, [scheme://][user:pass@]host:port; prefer env for credentials.",
                    "oneOf": [
                        {"type": "array", "items": {"type": "string", "minLength": 1}},
                        {"type": "string"},
                    ],
                },
                "env": {
                    "description": "An environment variable holding proxies (comma or newline separated).",
                    "type": "string",
                    "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                },
                "policy": {
                    "description": "Rotation: random, round_robin, lru, sticky_domain or "
                    "sticky_session (a policy class is a project setting, PROXY_POLICY).",
                    "enum": list(POLICY_NAMES),
                },
                "paid_only": {"description": "Use only proxies marked paid.", "type": "boolean"},
                "direct": {
                    "description": "never; fallback (direct when no proxy is usable); "
                    "until_blocked (direct until the site bans, then proxies).",
                    "enum": ["never", "fallback", "until_blocked"],
                },
                "ban_backoff": dict(
                    _SECONDS, description="Seconds a ban benches a proxy for this site (doubles)."
                ),
                "failure_backoff": dict(
                    _SECONDS, description="Seconds a failure benches a proxy (doubles)."
                ),
                "backoff_max": dict(_SECONDS, description="Longest bench, seconds."),
                "wait_max": dict(
                    _SECONDS, description="Longest wait for a usable proxy before the crawl stops."
                ),
                "download_timeout": dict(
                    _SECONDS, description="Timeout of proxied requests, seconds."
                ),
            },
        },
        "ban": {
            "description": "What counts as a ban, on top of the platform's defaults, and retries.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "statuses": {
                    "description": "More HTTP statuses that mean banned.",
                    "type": "array",
                    "items": {"type": "integer", "minimum": 100, "maximum": 599},
                },
                "markers": dict(
                    _REGEX_LIST, description="Regexes of block/captcha pages (case-insensitive)."
                ),
                "login_url_patterns": dict(
                    _REGEX_LIST, description="Regexes of URLs a blocked client gets redirected to."
                ),
                "empty_body": {
                    "description": "An empty 200 body is a ban (default true).",
                    "type": "boolean",
                },
                "retries": {
                    "description": "Retries of a banned request elsewhere (separate from Scrapy's).",
                    "type": "integer",
                    "minimum": 0,
                },
                "retry_delay": dict(
                    _SECONDS, description="First wait before a direct retry, doubled each time."
                ),
                "retry_after_max": dict(
                    _SECONDS, description="Longest Retry-After honoured, seconds."
                ),
            },
        },
        "sessions": {
            "description": "Cookie sessions: named cookie jars, rotated, retired when banned.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "count": {"description": "Number of sessions.", "type": "integer", "minimum": 1},
                "rotate": {
                    "description": "How requests pick a session.",
                    "enum": ["round_robin", "random"],
                },
                "max_bans": {
                    "description": "Bans before a session is retired.",
                    "type": "integer",
                    "minimum": 1,
                },
                "accounts": {
                    "description": "The account pool each session leases an account from (the "
                    "deployment's accounts file or ACCOUNTS_POOL_* variables, never the rule): "
                    "the login form fills from the account ({account.username}, "
                    "{account.password}); its rate, quota and bans are shared by every process "
                    "(docs/antiban.md#account-pools).",
                    "type": "string",
                    "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                },
                "login": {
                    "description": "A form POST that logs each session in.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url", "form"],
                    "properties": {
                        "url": {
                            "description": "The form's action URL.",
                            "type": "string",
                            "minLength": 1,
                        },
                        "form": {
                            "description": 'Form fields; "${ENV_VAR}" takes a value from the environment.',
                            "type": "object",
                            "additionalProperties": {"type": ["string", "number"]},
                        },
                        "success_marker": {
                            "description": "Regex the page after login contains.",
                            "type": "string",
                        },
                        "failure_marker": {
                            "description": "Regex of a failed login page.",
                            "type": "string",
                        },
                        "max_failures": {
                            "description": "Failed logins before the crawl stops.",
                            "type": "integer",
                            "minimum": 1,
                        },
                    },
                },
            },
        },
    },
}
