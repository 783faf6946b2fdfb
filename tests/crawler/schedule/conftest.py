"""The real redis-server fixtures of the distributed tests, for the shared schedule lock."""

from tests.crawler.distributed.conftest import redis_server, redis_url  # noqa: F401
