"""Sign-in presets: the providers teams in China (and GitHub) sign in with, configured by name
(``preset: wecom``) instead of by endpoints. Each preset knows its provider's documented
endpoints; its base URLs may be overridden (Lark's, a GitHub Enterprise server's, a test
server's) but only with ``https://`` URLs, or ``http://`` on a loopback address.

::

    SIGNIN_PROVIDERS = {
        "wecom": {"preset": "wecom", "client_id": "ww0123456789abcdef",   # the CorpID
                  "agent_id": "1000002", "client_secret_env": "WECOM_SIGNIN_SECRET"},
        "dingtalk": {"preset": "dingtalk", "client_id": "dingabcdef",     # the Client ID (AppKey)
                     "client_secret_env": "DINGTALK_SIGNIN_SECRET"},
        "feishu": {"preset": "feishu", "client_id": "cli_a5ca35a685b0x26e",
                   "client_secret_env": "FEISHU_SIGNIN_SECRET"},
        "github": {"preset": "github", "client_id": "Ov23li0123456789",
                   "client_secret_env": "GITHUB_SIGNIN_SECRET"},
        "weibo": {"preset": "weibo", "client_id": "1234567890",           # the App Key
                  "client_secret_env": "WEIBO_SIGNIN_SECRET"},
    }

>>> p = preset_fields("gh", {"preset": "github", "client_id": "c", "client_secret_env": "S"})
>>> p["dialect"], p["preset"], p["label"], dict(p["bases"])["api_base"], p["scope"]
('preset', 'github', 'GitHub', 'https://api.github.com', 'read:user')
>>> lark = preset_fields("lark", {"preset": "lark", "client_id": "c", "client_secret_env": "S"})
>>> dict(lark["bases"])["open_base"]
'https://open.larksuite.com'
>>> preset_fields("gh", {"preset": "github", "client_id": "c", "client_secret_env": "S",
...                        "web_base": "http://github.example.com"})
Traceback (most recent call last):
...
crawler.oauth.errors.ProviderError: SIGNIN_PROVIDERS['gh']: web_base must be an https:// URL (http:// only on a loopback address); got 'http://github.example.com'
>>> preset_fields("wc", {"preset": "wecom", "client_id": "ww1", "client_secret_env": "S"})
Traceback (most recent call last):
...
crawler.oauth.errors.ProviderError: SIGNIN_PROVIDERS['wc']: agent_id is required for wecom: the AgentId of the app people sign in to
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.oauth import ProviderError


@dataclass(frozen=True)
class Preset:
    label: str
    bases: dict[str, str]  # which base URLs, and their defaults
    scope: str  # "" when the provider takes none
    options: tuple[str, ...] = ()  # further keys of its own
    required: tuple[str, ...] = ()


FEISHU = {"accounts_base": "https://accounts.feishu.cn", "open_base": "https://open.feishu.cn"}
PRESETS: dict[str, Preset] = {
    # 企业微信 web login: CorpID + AgentId; the secret is the app's (corpsecret)
    "wecom": Preset(
        "WeCom",
        {
            "login_base": "https://login.work.weixin.qq.com",
            "api_base": "https://qyapi.weixin.qq.com",
        },
        "",
        options=("agent_id", "login_type"),
        required=("agent_id",),
    ),
    # DingTalk's new OAuth 2.0 (login.dingtalk.com, api.dingtalk.com)
    "dingtalk": Preset(
        "DingTalk",
        {"login_base": "https://login.dingtalk.com", "api_base": "https://api.dingtalk.com"},
        "openid corpid",
    ),
    "feishu": Preset("Feishu", FEISHU, ""),
    "lark": Preset(
        "Lark",
        {
            "accounts_base": "https://accounts.larksuite.com",
            "open_base": "https://open.larksuite.com",
        },
        "",
    ),
    "github": Preset(
        "GitHub",
        {"web_base": "https://github.com", "api_base": "https://api.github.com"},
        "read:user",
    ),
    "weibo": Preset("Weibo", {"api_base": "https://api.weibo.com"}, ""),
}
COMMON = {"preset", "label", "client_id", "client_secret_env", "scope"}
LOGIN_TYPES = ("CorpApp", "ServiceApp")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def preset_url(value: Any, key: str, fail: Any) -> str:
    """A base URL a preset may use: https, or http on a loopback address (tests)."""
    text = str(value).rstrip("/")
    parts = urlsplit(text)
    https = parts.scheme == "https" and bool(parts.hostname)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not (https or loopback) or parts.query or parts.fragment or re.search(r"\s", text):
        raise fail(
            f"{key} must be an https:// URL (http:// only on a loopback address); got {value!r}"
        )
    return text


def preset_fields(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of the :class:`~.signin_providers.SigninProvider` of a ``preset:`` entry,
    checked."""

    def fail(message: str) -> ProviderError:
        return ProviderError(f"SIGNIN_PROVIDERS[{name!r}]: {message}")

    kind = spec.get("preset")
    preset = PRESETS.get(str(kind))
    if preset is None:
        raise fail(f"preset must be one of {', '.join(PRESETS)}; got {kind!r}")
    known = COMMON | set(preset.bases) | set(preset.options)
    unknown = sorted(set(spec) - known)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if not spec.get("client_id"):
        raise fail(f"client_id is required for {kind}")
    if not spec.get("client_secret_env"):
        raise fail(f"client_secret_env is required for {kind}: the variable holding the secret")
    for key in preset.required:
        if not spec.get(key):
            raise fail(f"{key} is required for {kind}: the AgentId of the app people sign in to")
    options = {k: str(spec[k]) for k in preset.options if spec.get(k) not in (None, "")}
    if options.get("login_type", "CorpApp") not in LOGIN_TYPES:
        raise fail(f"login_type must be one of {', '.join(LOGIN_TYPES)}")
    bases = {k: preset_url(spec.get(k) or v, k, fail) for k, v in preset.bases.items()}
    return {
        "name": name,
        "dialect": "preset",
        "client_id": str(spec["client_id"]),
        "label": str(spec.get("label") or preset.label)[:60],
        "scope": str(spec.get("scope", preset.scope)),
        "secret_env": str(spec["client_secret_env"]),
        "preset": str(kind),
        "bases": tuple(bases.items()),
        "options": tuple(options.items()),
    }
