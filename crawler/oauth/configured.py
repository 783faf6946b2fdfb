"""The Scrapy side's way to the parts of this package: a provider, the token store and a token
keeper, from Scrapy settings. The middleware and ``scrapy auth`` both go through here, so a
crawl and ``scrapy auth authorize`` always use the same store.

The store: ``OAUTH_TOKEN_STORE_URI`` on one machine (SQLite by default); when the crawl is
distributed (``REDIS_URL`` / ``DISTRIBUTED``, as :mod:`crawler.core.redis` decides) the Redis at
``REDIS_URL``, unless ``OAUTH_TOKEN_STORE_URI`` names a ``redis://`` store itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from crawler.core.redis import is_distributed, redis_params, redis_url
from crawler.oauth.errors import ProviderError
from crawler.oauth.keeper import TokenKeeper, token_client
from crawler.oauth.source_providers import Provider, providers_from_settings
from crawler.oauth.source_tokens import Token
from crawler.oauth.token_stores import TokenStore


def providers(settings: BaseSettings) -> dict[str, Provider]:
    try:
        specs = settings.getdict("OAUTH_PROVIDERS")
    except ValueError as exc:
        raise ProviderError(f"OAUTH_PROVIDERS is not a dict (nor its JSON): {exc}") from None
    return providers_from_settings(specs)


def provider(settings: BaseSettings, name: str) -> Provider:
    known = providers(settings)
    if name not in known:
        names = ", ".join(sorted(known)) or "none is configured"
        raise ProviderError(f"no provider {name!r} in OAUTH_PROVIDERS ({names})")
    return known[name]


def store_uri(settings: BaseSettings) -> str:
    uri = settings.get("OAUTH_TOKEN_STORE_URI") or ""
    if is_distributed(settings) and not uri.startswith(("redis://", "rediss://")):
        return redis_url(settings)
    return uri


def token_store(settings: BaseSettings) -> TokenStore:
    uri = store_uri(settings)
    scheme = urlsplit(uri).scheme
    stores = settings.getdict("OAUTH_TOKEN_STORES")
    if scheme not in stores:
        raise ProviderError(
            f"no token store for {scheme or 'an empty'} URI (OAUTH_TOKEN_STORE_URI); "
            f"known schemes: {', '.join(sorted(stores))}"
        )
    cls = load_object(stores[scheme])
    return cls.from_uri(
        uri,
        lock_timeout=settings.getfloat("OAUTH_LOCK_TIMEOUT"),
        redis_params=redis_params(settings),
    )


def keeper(
    settings: BaseSettings,
    prov: Provider,
    credential: str,
    store: TokenStore,
    *,
    on_token: Any = lambda token: None,
) -> TokenKeeper:
    client = token_client(
        prov, prov.secret(), credential=credential, timeout=settings.getfloat("OAUTH_HTTP_TIMEOUT")
    )
    return TokenKeeper(
        prov,
        credential,
        store,
        client,
        margin=settings.getfloat("OAUTH_REFRESH_MARGIN"),
        on_token=on_token,
    )


__all__ = ["Token", "keeper", "provider", "providers", "store_uri", "token_store"]
