"""A real redis-server for the shared budget (the distributed tests' fixtures)."""

from tests.crawler.distributed.conftest import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]
