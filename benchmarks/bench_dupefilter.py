"""Redis dupefilters for large crawls: memory per million URLs and requests per second.

    .venv/bin/python benchmarks/bench_dupefilter.py [--urls 1000000] [--speed-urls 50000]

For the exact set (scrapy-redis's fingerprint set) and the Bloom filter (sized for ``--urls`` at
a 0.1% false-positive rate): fills the filter with ``--urls`` distinct request fingerprints
(pipelined, as many workers would), reports the Redis memory it takes (MEMORY USAGE of its keys)
per URL and per million URLs, then times ``request_seen`` one request at a time, as a worker
calls it, on ``--speed-urls`` new requests, and measures the false-positive rate of the Bloom
filter on 100 000 URLs never added. A throwaway redis-server runs on a free loopback port.
Target: the Bloom filter at most 2 bytes per URL at 0.1%.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from scrapy import Request  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from crawler.distributed.dupefilter import BloomDupeFilter, RedisDupeFilter  # noqa: E402
from tests.redis_server import REDIS_SERVER, RedisServer  # noqa: E402

BATCH = 5000


def url(n: int, kind: str = "a") -> str:
    return f"https://shop.example.com/{kind}/category-{n % 977}/product-{n}.html?ref=list"


def make(cls, server_url: str, capacity: int, name: str):
    crawler = get_crawler(
        settings_dict={
            "REDIS_URL": server_url,
            "DISTRIBUTED_BLOOM_CAPACITY": capacity,
            "DISTRIBUTED_BLOOM_ERROR_RATE": 0.001,
        }
    )
    crawler.spidercls.name = name
    return cls.from_crawler(crawler), crawler


def fill(dupefilter, crawler, count: int) -> float:
    """Add ``count`` fingerprints, pipelined; returns seconds."""
    fingerprint = crawler.request_fingerprinter.fingerprint
    client = dupefilter.server
    started = time.monotonic()
    for first in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for n in range(first, min(first + BATCH, count)):
            fp = fingerprint(Request(url(n)))
            if isinstance(dupefilter, BloomDupeFilter):
                bloom = dupefilter.bloom
                bloom._add(keys=bloom.shard_keys, args=bloom.positions(fp), client=pipe)
            else:
                pipe.sadd(dupefilter.key, fp.hex())
        pipe.execute()
    return time.monotonic() - started


def memory(dupefilter) -> int:
    if isinstance(dupefilter, BloomDupeFilter):
        return dupefilter.bloom.memory()
    return dupefilter.server.memory_usage(dupefilter.key, samples=0) or 0


def seen_rate(dupefilter, count: int) -> tuple[float, int]:
    """request_seen() on ``count`` new requests, one round trip each: (requests/s, seen)."""
    requests = [Request(url(n, "speed")) for n in range(count)]
    started = time.monotonic()
    seen = sum(dupefilter.request_seen(r) for r in requests)
    return count / (time.monotonic() - started), seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--speed-urls", type=int, default=50_000)
    opts = parser.parse_args()
    if REDIS_SERVER is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp)).start()
        try:
            client = redis.Redis.from_url(server.url)
            print(f"{opts.urls:,} URLs; request_seen timed on {opts.speed_urls:,} more")
            print(
                f"{'dupefilter':<12} {'bytes/URL':>10} {'MB per 1M URLs':>15} "
                f"{'fill URLs/s':>12} {'request_seen/s':>15} {'false positives':>16}"
            )
            for name, cls in (("set", RedisDupeFilter), ("bloom", BloomDupeFilter)):
                client.flushall()
                dupefilter, crawler = make(cls, server.url, opts.urls, f"bench_{name}")
                if cls is BloomDupeFilter:
                    dupefilter.bloom.allocate()
                fill_seconds = fill(dupefilter, crawler, opts.urls)
                used = memory(dupefilter)
                per_url = used / opts.urls
                fp_rate = "exact"
                if cls is BloomDupeFilter:
                    probe = 100_000
                    fingerprint = crawler.request_fingerprinter.fingerprint
                    pipe = client.pipeline(transaction=False)
                    bloom = dupefilter.bloom
                    checks = "local s = 1 for i = 1, #ARGV do local sh, b = string.match(ARGV[i], '^(%d+):(%d+)$') if redis.call('GETBIT', KEYS[tonumber(sh) + 1], tonumber(b)) == 0 then s = 0 end end return s"
                    script = client.register_script(checks)
                    for n in range(probe):
                        fp = fingerprint(Request(url(n, "never")))
                        script(keys=bloom.shard_keys, args=bloom.positions(fp), client=pipe)
                    false_positives = sum(pipe.execute())
                    fp_rate = f"{false_positives / probe:.3%}"
                rate, _ = seen_rate(dupefilter, opts.speed_urls)
                print(
                    f"{name:<12} {per_url:>10.2f} {per_url:>15.1f} "
                    f"{opts.urls / fill_seconds:>12,.0f} {rate:>15,.0f} {fp_rate:>16}"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
