"""A valid token for one credential: from this process's memory while it is fresh, else from
the shared store, else renewed (client credentials fetched again, or the refresh token used)
under the store's lock, so that of all crawl processes sharing a credential one renews it and
the others take its result.

A token is renewed ``margin`` seconds before it expires, and at once when the provider answers a
request "expired" (:meth:`TokenKeeper.renew` with the label of the rejected token): if the store
already holds a newer one, that one is used and nothing is renewed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from crawler.oauth.errors import NotAuthorized
from crawler.oauth.source_providers import Provider, TokenClient
from crawler.oauth.source_tokens import Token
from crawler.oauth.token_stores import TokenStore, token_key


def token_client(provider: Provider, secret: str | None, **kwargs: Any) -> TokenClient:
    """The token client of the provider's dialect."""
    if provider.wechat:
        from crawler.oauth.wechat_client import WeChatClient

        return WeChatClient(provider, secret, **kwargs)
    from crawler.oauth.standard import StandardClient

    return StandardClient(provider, secret, **kwargs)


class TokenKeeper:
    def __init__(
        self,
        provider: Provider,
        credential: str,
        store: TokenStore,
        client: Any,
        *,
        margin: float,
        clock: Callable[[], float] = time.time,
        on_token: Callable[[Token], None] = lambda token: None,
    ) -> None:
        self.provider = provider
        self.credential = credential
        self.key = token_key(provider.name, credential)
        self.store = store
        self.client = client
        self.margin = margin
        self.clock = clock
        self.on_token = on_token
        self.counts = {"obtained": 0, "refreshed": 0, "from_store": 0}
        self._current: Token | None = None
        self._lock = threading.Lock()  # one renewal at a time in this process

    def fresh(self, token: Token | None) -> bool:
        return token is not None and not token.expires_within(self.margin, now=self.clock())

    def cached(self) -> Token | None:
        """The token in memory, if it is still fresh (no I/O: the hot path of every request)."""
        token = self._current
        return token if self.fresh(token) else None

    def token(self) -> Token:
        """A fresh token (blocking: the store, maybe the provider)."""
        token = self.cached()
        if token is not None:
            return token
        with self._lock:
            stored = self.store.get(self.key)
            if self.fresh(stored):
                return self._adopt(stored, "from_store")
            return self._renew(rejected=None)

    def renew(self, rejected: str) -> Token:
        """The provider said the token labelled ``rejected`` has expired: a newer one."""
        with self._lock:
            current = self._current
            if current is not None and current.label != rejected and self.fresh(current):
                return current  # renewed meanwhile by this process
            return self._renew(rejected=rejected)

    def _renew(self, rejected: str | None) -> Token:
        with self.store.exclusive(self.key) as tx:
            stored = tx.get()
            if self.fresh(stored) and (rejected is None or stored.label != rejected):
                return self._adopt(stored, "from_store")  # another process renewed it
            token = self._obtain(stored)
            tx.put(token)
        return self._adopt(token, "refreshed" if stored is not None else "obtained")

    def _obtain(self, stored: Token | None) -> Token:
        if self.provider.grant == "client_credentials":
            return self.client.client_credentials()
        if stored is None or not stored.refresh_token:
            raise NotAuthorized(self.provider.name, self.credential)
        token = self.client.refresh(stored.refresh_token)
        return replace(
            token, openid=token.openid or stored.openid, unionid=token.unionid or stored.unionid
        )

    def _adopt(self, token: Token, how: str) -> Token:
        if self._current is None or self._current.label != token.label:
            self.counts[how] += 1
            self.on_token(token)
        self._current = token
        return token
