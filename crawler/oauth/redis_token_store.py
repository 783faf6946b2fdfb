"""Tokens in Redis, for crawls spread over machines: ``{prefix}token:{key}`` holds a token's
JSON; ``{prefix}lock:{key}`` is the lock of its refresh (``SET NX`` with an expiry, so a process
that dies while refreshing holds it no longer than the lock timeout). A process that finds the
lock taken polls until it is free, then reads what the other process stored.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import redis

from crawler.oauth.source_tokens import Token
from crawler.oauth.token_stores import LockTimeout
from vocab import mask_url

# Delete the lock only if it is still ours (it may have expired and been taken by another).
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
POLL = 0.05


class _RedisExclusive:
    def __init__(self, store: RedisTokenStore, key: str) -> None:
        self.store = store
        self.key = key

    def get(self) -> Token | None:
        return self.store.get(self.key)

    def put(self, token: Token) -> None:
        self.store.server.set(self.store.prefix + "token:" + self.key, token.to_json())


class RedisTokenStore:
    def __init__(
        self,
        server: redis.Redis,
        *,
        lock_timeout: float = 30.0,
        prefix: str = "oauth:",
        uri: str = "",
    ) -> None:
        self.server = server
        self.lock_timeout = lock_timeout
        self.prefix = prefix
        self.display_uri = mask_url(uri) or "redis"

    @classmethod
    def from_uri(
        cls, uri: str, *, lock_timeout: float, redis_params: dict[str, Any] | None = None, **_: Any
    ) -> RedisTokenStore:
        server = redis.Redis.from_url(uri, **(redis_params or {}))
        return cls(server, lock_timeout=lock_timeout, uri=uri)

    def get(self, key: str) -> Token | None:
        text = self.server.get(self.prefix + "token:" + key)
        return Token.from_json(text) if text else None

    def items(self) -> list[tuple[str, Token]]:
        start = len(self.prefix + "token:")
        found = []
        for name in self.server.scan_iter(match=self.prefix + "token:*", count=100):
            key = (name.decode() if isinstance(name, bytes) else name)[start:]
            token = self.get(key)
            if token is not None:
                found.append((key, token))
        return sorted(found, key=lambda kv: kv[0])

    def delete(self, key: str) -> bool:
        return bool(self.server.delete(self.prefix + "token:" + key))

    @contextlib.contextmanager
    def exclusive(self, key: str) -> Iterator[_RedisExclusive]:
        lock, me = self.prefix + "lock:" + key, secrets.token_hex(16)
        deadline = time.monotonic() + self.lock_timeout
        expiry_ms = max(1, int(self.lock_timeout * 1000))
        while not self.server.set(lock, me, nx=True, px=expiry_ms):
            if time.monotonic() > deadline:
                raise LockTimeout(f"token {key} stayed locked for {self.lock_timeout:g}s")
            time.sleep(POLL)
        try:
            yield _RedisExclusive(self, key)
        finally:
            self.server.eval(_RELEASE, 1, lock, me)

    def close(self) -> None:
        self.server.close()
