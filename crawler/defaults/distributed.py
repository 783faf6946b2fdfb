"""Distributed and incremental crawls (crawler/distributed; docs/distributed.md)."""

import os

from vocab.datadir import data_dir

# REDIS_URL (here from the environment, or -s) switches a crawl to the shared Redis queue;
# DISTRIBUTED=1 does too (with redis://127.0.0.1:6379/0 unless REDIS_URL says otherwise).
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_PARAMS: dict[str, object] = {}  # extra redis-py connection arguments, over:
# Fail in seconds, not hang, when Redis is unreachable; redis-py retries timeouts by default.
REDIS_PARAMS_BASE = {
    "socket_timeout": 30,
    "socket_connect_timeout": 10,
    "health_check_interval": 30,
}
DISTRIBUTED = None  # None: distributed exactly when REDIS_URL is set
DISTRIBUTED_DUPEFILTER = "set"  # or "bloom", for crawls of many millions of URLs
DISTRIBUTED_BLOOM_CAPACITY = 10_000_000  # expected URLs
DISTRIBUTED_BLOOM_ERROR_RATE = 0.001
DISTRIBUTED_IDLE_TIMEOUT = 30.0  # a worker stops after the whole crawl was idle this long (s)
DISTRIBUTED_SEED_TIMEOUT = 60.0  # a worker that has seen no work yet waits this long for a seed
DISTRIBUTED_POLL_INTERVAL = 0.5  # heartbeat and queue poll (s)
DISTRIBUTED_LEASE_TIMEOUT = 60.0  # a worker silent this long is dead; its requests are requeued
DISTRIBUTED_SEED = False  # this worker resets the crawl and seeds it with the rule's start requests
# Keep the queue and dupefilter when the last worker leaves (scrapy-redis's settings).
SCHEDULER_PERSIST = False
SCHEDULER_FLUSH_ON_START = False
# How requests are written into Redis (scrapy-redis's setting): JSON data, and nothing else. Its
# default there is pickle, which would let anyone who can write to Redis run code on every worker.
SCHEDULER_SERIALIZER = "crawler.distributed.request_json"

# --- incremental crawls (`fetch: once` pages; crawler/distributed/incremental_crawl.py) ---
INCREMENTAL_ENABLED = True  # False: fetch every page this run (fetches are still recorded)
# Seen-URL state on one machine (empty: none kept); a distributed crawl keeps it in Redis.
INCREMENTAL_STATE_URI = f"sqlite:///{data_dir / 'seen.db'}"

# Not a setting: the Redis of a distributed crawl whose REDIS_URL is empty (crawler/core/redis.py).
local_redis_url = "redis://127.0.0.1:6379/0"

rule_safe = {"INCREMENTAL_ENABLED", "DISTRIBUTED_IDLE_TIMEOUT"}
kinds = {"DISTRIBUTED": "bool"}
choices = {
    "DISTRIBUTED_DUPEFILTER": ("set", "bloom"),
    "SCHEDULER_SERIALIZER": ("crawler.distributed.request_json",),
}
minimums = {
    "DISTRIBUTED_BLOOM_CAPACITY": 1,
    "DISTRIBUTED_IDLE_TIMEOUT": 0,
    "DISTRIBUTED_SEED_TIMEOUT": 0,
    "DISTRIBUTED_POLL_INTERVAL": 0.01,
    "DISTRIBUTED_LEASE_TIMEOUT": 1,
}
