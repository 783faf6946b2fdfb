"""What the schema cannot see in an ``antiban:`` section: user-agent filters that match no agent
(through the compile context's check), proxies that do not parse or carry credentials, regexes,
unset environment variables."""

from __future__ import annotations

import os
import re
from typing import Any

from crawler.rules.compile_context import UserAgentCheck
from crawler.rules.envvars import env_refs
from crawler.rules.problems import did_you_mean
from crawler.rules.sections.antiban.schema import IMPERSONATE_TARGETS
from proxies.model import Proxy
from proxies.static import parse_proxy_list
from vocab import mask_url


def _regexes(items: Any, path: str) -> list[tuple[str, str]]:
    problems = []
    for i, pattern in enumerate(items or []):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append((f"{path}[{i}]", f"bad regular expression {pattern!r}: {exc}"))
    return problems


def _check_user_agent(ua: dict[str, Any], check: UserAgentCheck | None) -> list[tuple[str, str]]:
    found = check(ua) if check is not None else []
    problems = [(f"user_agent.{path}" if path else "user_agent", m) for path, m in found]
    if problems:
        return problems
    if ua.get("fixed"):
        filters = [k for k in ("browsers", "os", "platforms", "min_version") if k in ua]
        if filters:
            problems.append(
                ("user_agent.fixed", f"warning: a fixed agent ignores {', '.join(filters)}")
            )
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
    if sessions.get("accounts") and not login:
        problems.append(("sessions.accounts", "an account pool needs sessions.login (its form)"))
    for key in ("success_marker", "failure_marker"):
        if login.get(key):
            problems += [(f"sessions.login.{key}", m) for _, m in _regexes([login[key]], key)]
    return problems


def _check_impersonate(section: dict[str, Any]) -> list[tuple[str, str]]:
    target = section.get("impersonate")
    if target is None:
        return []
    if target not in IMPERSONATE_TARGETS:
        hint = did_you_mean(target, IMPERSONATE_TARGETS) or (
            " (one of chrome, edge, firefox, safari, tor, or a version such as chrome131)"
        )
        return [("impersonate", f"cannot impersonate {target!r}{hint}")]
    ua = section.get("user_agent") or {}
    ignored = [k for k in ("fixed", "browsers", "os", "platforms", "min_version") if k in ua]
    if ignored:
        message = (
            f"warning: impersonating {target}, requests present {target}'s own user agent "
            f"and client hints: user_agent.{', user_agent.'.join(ignored)} is ignored"
        )
        return [("user_agent", message)]
    return []


def check_antiban(
    section: dict[str, Any] | None,
    environ: Any = None,
    user_agents: UserAgentCheck | None = None,
) -> list[tuple[str, str]]:
    """Problems the schema cannot see, as (field.path, message); messages starting with
    ``warning:`` do not make the rule invalid. ``user_agents`` checks the user-agent filters
    against the anti-ban side's data (the compile context's)."""
    section = section or {}
    environ = os.environ if environ is None else environ
    problems: list[tuple[str, str]] = _check_impersonate(section)
    problems += _check_user_agent(section.get("user_agent") or {}, user_agents)
    problems += _check_proxies(section.get("proxies") or {}, environ)
    ban = section.get("ban") or {}
    problems += _regexes(ban.get("markers"), "ban.markers")
    problems += _regexes(ban.get("login_url_patterns"), "ban.login_url_patterns")
    problems += _check_sessions(section.get("sessions") or {}, environ)
    return problems
