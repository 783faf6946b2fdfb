"""What the OAuth tests share: the servers' client credentials, provider settings pointing at
them, a "person" who opens an authorization URL and approves, and a test store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

from crawler.oauth.keeper import TokenKeeper, token_client
from crawler.oauth.source_providers import Provider, provider_from_settings
from crawler.oauth.token_stores import SqliteTokenStore

CLIENT_ID, CLIENT_SECRET = "crawler", "crawler-secret-0123456789"
APPID, APP_SECRET = "wx0123456789abcdef", "wechat-app-secret-0123456789"
STANDARD_ENV, WECHAT_ENV = "TEST_OAUTH_SECRET", "TEST_WECHAT_SECRET"
ENVIRON = {STANDARD_ENV: CLIENT_SECRET, WECHAT_ENV: APP_SECRET}


def standard_spec(url: str, **extra: Any) -> dict[str, Any]:
    return {"issuer": url, "client_id": CLIENT_ID, "client_secret_env": STANDARD_ENV,
            "scope": "read", **extra}  # fmt: skip


def wechat_spec(url: str, **extra: Any) -> dict[str, Any]:
    return {"dialect": "wechat", "client_id": APPID, "client_secret_env": WECHAT_ENV,
            "api_base": url, "open_base": url, **extra}  # fmt: skip


def client_for(name: str, spec: dict[str, Any], secret: str | None = None, **kwargs: Any) -> Any:
    provider = provider_from_settings(name, spec)
    if secret is None:
        secret = provider.secret(ENVIRON)
    return token_client(provider, secret, **kwargs)


def keeper_for(
    provider: Provider, client: Any, store: SqliteTokenStore, **kwargs: Any
) -> TokenKeeper:
    kwargs.setdefault("margin", 1.0)
    return TokenKeeper(provider, "default", store, client, **kwargs)


def approve(url: str) -> requests.Response:
    """A person opens the URL and approves: the auto-approving test servers redirect straight
    to the callback; a consent page is submitted with its first choices."""
    return requests.get(url.split("#", 1)[0], timeout=10, allow_redirects=True)


def person_opening(urls: list[str], act: Callable[[str], Any] = approve) -> Callable[[str], None]:
    """A ``show`` callback for :func:`crawler.oauth.authorize.authorize`: records the URL and
    has a person act on it from another thread (the listener waits meanwhile)."""

    def show(url: str) -> None:
        urls.append(url)
        threading.Thread(target=act, args=(url,), daemon=True).start()

    return show
