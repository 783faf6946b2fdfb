"""The Redis client of distributed crawls, from Scrapy settings.

scrapy-redis's own ``get_redis_from_settings`` passes ``retry_on_timeout``, which redis-py 6+
deprecates; this builds the same client from ``REDIS_URL`` (and ``REDIS_PARAMS``) without it.
"""

from __future__ import annotations

import redis
from scrapy.settings import BaseSettings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Fail in seconds, not hang, when Redis is unreachable; redis-py retries timeouts by default.
REDIS_PARAMS = {"socket_timeout": 30, "socket_connect_timeout": 10, "health_check_interval": 30}


def redis_from_settings(settings: BaseSettings) -> redis.Redis:
    params = {**REDIS_PARAMS, **settings.getdict("REDIS_PARAMS")}
    return redis.Redis.from_url(settings.get("REDIS_URL") or DEFAULT_REDIS_URL, **params)


class RedisUnreachable(RuntimeError):
    """Redis does not answer at the configured URL."""


def check_reachable(server: redis.Redis, settings: BaseSettings) -> None:
    """Fail at start, naming the URL (credentials masked), rather than on the first request."""
    try:
        server.ping()
    except redis.exceptions.RedisError as exc:
        from vocab import mask_url

        url = mask_url(settings.get("REDIS_URL") or DEFAULT_REDIS_URL)
        raise RedisUnreachable(f"cannot reach Redis at {url} (REDIS_URL): {exc}") from None
