"""The real redis-server fixtures, for the Redis Streams sink."""

from tests.crawler.distributed.conftest import redis_server, redis_url  # noqa: F401
