"""Redis from Scrapy settings: whether a crawl is distributed, which Redis it uses, the client.

A crawl is distributed when ``DISTRIBUTED`` is true, or, left unset, when ``REDIS_URL`` is set;
it then uses ``REDIS_URL``, else the local Redis (``crawler/defaults/distributed.py``). Every
part that talks to that Redis (the distributed scheduler and dupefilters, seen-URL state, the
OAuth token store, the scheduler daemon's locks) connects through here, with ``REDIS_PARAMS``
over ``REDIS_PARAMS_BASE``.

scrapy-redis's own ``get_redis_from_settings`` passes ``retry_on_timeout``, which redis-py 6+
deprecates; :func:`redis_from_settings` builds the same client without it.

>>> from scrapy.settings import Settings
>>> is_distributed(Settings({"REDIS_URL": "redis://h:6379/1"})), is_distributed(Settings())
(True, False)
>>> redis_url(Settings({"DISTRIBUTED": True}))
'redis://127.0.0.1:6379/0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.settings import BaseSettings

from crawler.defaults.distributed import local_redis_url
from vocab import mask_url

if TYPE_CHECKING:
    import redis


def is_distributed(settings: BaseSettings) -> bool:
    flag = settings.get("DISTRIBUTED")
    if flag is None or flag == "":
        return bool(settings.get("REDIS_URL"))
    return settings.getbool("DISTRIBUTED")


def redis_url(settings: BaseSettings) -> str:
    """The Redis of a distributed crawl: ``REDIS_URL``, else the local one."""
    return settings.get("REDIS_URL") or local_redis_url


def redis_params(settings: BaseSettings) -> dict[str, Any]:
    """redis-py connection arguments: ``REDIS_PARAMS`` over ``REDIS_PARAMS_BASE``."""
    return dict(settings.getwithbase("REDIS_PARAMS"))


def redis_from_settings(settings: BaseSettings) -> redis.Redis:
    import redis  # here: a crawl on one machine never loads redis-py (6 MB)

    return redis.Redis.from_url(redis_url(settings), **redis_params(settings))


class RedisUnreachable(RuntimeError):
    """Redis does not answer at the configured URL."""


def check_reachable(server: redis.Redis, settings: BaseSettings) -> None:
    """Fail at start, naming the URL (credentials masked), rather than on the first request."""
    from redis.exceptions import RedisError

    try:
        server.ping()
    except RedisError as exc:
        url = mask_url(redis_url(settings))
        raise RedisUnreachable(f"cannot reach Redis at {url} (REDIS_URL): {exc}") from None
