"""``antiban:``: user agents, proxies, ban detection and cookie sessions of a rule's crawl.

Every key maps to a Scrapy setting (docs/antiban.md), so the middlewares read one thing:
settings. A rule is data: it picks a proxy pool and a rotation policy by name, never by class
path, and reads no local file (cookie files and proxy list files are project settings).
Example::

    antiban:
      user_agent: {browsers: [chrome, edge], platforms: [desktop], min_version: {chrome: 120}}
      proxies: {policy: sticky_domain, env: SHOP_PROXIES, direct: fallback}
      ban: {markers: ["Are you a robot"], retries: 6}
      sessions:
        count: 3
        login: {url: "https://shop.example/login", success_marker: "Sign out",
                form: {email: "${SHOP_USER}", password: "${SHOP_PASSWORD}"}}

>>> antiban_settings({"proxies": {"policy": "lru", "list": ["10.0.0.1:3128"]}, "ban": {"retries": 3}})
{'PROXY_POLICY': 'lru', 'PROXY_LIST': ['10.0.0.1:3128'], 'BAN_RETRY_TIMES': 3}
>>> antiban_settings({"proxies": {"pool": "embedded"}})
{'PROXY_POOL_CLASS': 'proxies.pool.EmbeddedProxyPool'}
>>> check_antiban({"user_agent": {"browsers": ["safari"], "os": ["windows"]}})[0][0]
'user_agent'
"""

from __future__ import annotations

import os
import re
from types import MappingProxyType
from typing import Any

from crawler.antiban.useragents import (
    BROWSER_ALIASES,
    OS_ALIASES,
    PLATFORMS,
    UserAgentCatalog,
    known_browsers,
    known_os,
)
from crawler.rules.context import BuildContext
from crawler.rules.envvars import env_refs
from crawler.rules.problems import split_path
from crawler.rules.sections import Section
from proxies.model import Proxy
from proxies.static import parse_proxy_list
from vocab import mask_url

# The rotation policies a rule may name (crawler.antiban.rotation implements them).
POLICY_NAMES = ("random", "round_robin", "lru", "sticky_domain", "sticky_session")
# The proxy pools a rule may name, and the classes the platform builds for them.
POOLS = {
    "static": "proxies.static.StaticProxyPool",
    "embedded": "proxies.pool.EmbeddedProxyPool",
    "redis": "proxies.pool.RedisProxyPool",
    "api": "proxies.client.HttpApiProxyPool",
}

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
        for key, value in (values or {}).items():
            if (group, key) == ("proxies", "pool"):
                out["PROXY_POOL_CLASS"] = POOLS[value]
            elif (group, key) in _DIRECT_KEYS:
                out[_DIRECT_KEYS[(group, key)]] = value
            elif (group, key) == ("sessions", "login"):
                for lkey, lvalue in value.items():
                    out[_LOGIN_KEYS[lkey]] = lvalue
    return out


def _regexes(items: Any, path: str) -> list[tuple[str, str]]:
    problems = []
    for i, pattern in enumerate(items or []):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append((f"{path}[{i}]", f"bad regular expression {pattern!r}: {exc}"))
    return problems


def _check_user_agent(ua: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    browsers, systems = known_browsers(), known_os()
    for i, name in enumerate(ua.get("browsers") or []):
        if name.lower().replace(" ", "") not in BROWSER_ALIASES and name not in browsers:
            problems.append(
                (
                    f"user_agent.browsers[{i}]",
                    f"unknown browser {name!r} (use {', '.join(BROWSER_ALIASES)})",
                )
            )
    for i, name in enumerate(ua.get("os") or []):
        if name.lower().replace(" ", "") not in OS_ALIASES and name not in systems:
            problems.append(
                (f"user_agent.os[{i}]", f"unknown OS {name!r} (use {', '.join(OS_ALIASES)})")
            )
    for name in ua.get("min_version") or {}:
        if name.lower().replace(" ", "") not in BROWSER_ALIASES and name not in browsers:
            problems.append((f"user_agent.min_version.{name}", f"unknown browser {name!r}"))
    if problems:
        return problems
    if ua.get("fixed"):
        filters = [k for k in ("browsers", "os", "platforms", "min_version") if k in ua]
        if filters:
            problems.append(
                ("user_agent.fixed", f"warning: a fixed agent ignores {', '.join(filters)}")
            )
        return problems
    if ua.get("rotate", True):
        try:
            UserAgentCatalog(
                browsers=ua.get("browsers"),
                os=ua.get("os"),
                platforms=ua.get("platforms") or ["desktop"],
                min_version=ua.get("min_version"),
            )
        except ValueError as exc:
            problems.append(("user_agent", str(exc)))
    return problems


def _check_proxies(proxies: dict[str, Any], environ: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for i, text in enumerate(parse_proxy_list(proxies.get("list"))):
        try:
            proxy = Proxy.parse(text)
        except ValueError as exc:
            problems.append((f"proxies.list[{i}]", str(exc)))
            continue
        if proxy.username is not None:
            problems.append(
                (
                    f"proxies.list[{i}]",
                    f"warning: {mask_url(text)} has credentials in the rule; "
                    "prefer proxies.env or proxies.file",
                )
            )
    if proxies.get("env") and proxies["env"] not in environ:
        problems.append(
            ("proxies.env", f"warning: environment variable {proxies['env']} is not set")
        )
    has_source = any(proxies.get(k) for k in ("list", "env", "pool"))
    if proxies.get("direct") == "until_blocked" and not has_source:
        problems.append(
            ("proxies.direct", "until_blocked needs proxies to switch to (list, env or pool)")
        )
    return problems


def _check_sessions(sessions: dict[str, Any], environ: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    login = sessions.get("login") or {}
    for field, value in (login.get("form") or {}).items():
        for name in env_refs(str(value)):
            if name not in environ:
                problems.append(
                    (
                        f"sessions.login.form.{field}",
                        f"warning: environment variable {name} is not set",
                    )
                )
    for key in ("success_marker", "failure_marker"):
        if login.get(key):
            problems += [(f"sessions.login.{key}", m) for _, m in _regexes([login[key]], key)]
    return problems


def check_antiban(
    section: dict[str, Any] | None, environ: Any = None
) -> list[tuple[str, str]]:
    """Problems the schema cannot see, as (field.path, message); messages starting with
    ``warning:`` do not make the rule invalid."""
    section = section or {}
    environ = os.environ if environ is None else environ
    problems: list[tuple[str, str]] = []
    problems += _check_user_agent(section.get("user_agent") or {})
    problems += _check_proxies(section.get("proxies") or {}, environ)
    ban = section.get("ban") or {}
    problems += _regexes(ban.get("markers"), "ban.markers")
    problems += _regexes(ban.get("login_url_patterns"), "ban.login_url_patterns")
    problems += _check_sessions(section.get("sessions") or {}, environ)
    return problems


def build(ctx: BuildContext) -> MappingProxyType:
    section = ctx.data.get("antiban")
    if not isinstance(section, dict) or ctx.broken(("antiban",)):
        return MappingProxyType({})
    for sub, message in check_antiban(section, ctx.env.environ):
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
