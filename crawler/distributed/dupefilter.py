"""Dupefilters on Redis shared by every worker of a rule: an exact set, or a Bloom filter.

Both use Scrapy's request fingerprinter (``REQUEST_FINGERPRINTER_CLASS``), so a request is a
duplicate under exactly the same terms as on one machine. The exact set (scrapy-redis's
``RFPDupeFilter``) stores every fingerprint, ~60-100 bytes per URL in Redis; the Bloom filter
stores bits, ~1.8 bytes per URL at a 0.1% false-positive rate, at the price of skipping that
fraction of new URLs as if seen.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.core.redis import redis_from_settings
from crawler.distributed.redis_keys import CrawlKeys

logger = logging.getLogger(__name__)


class RedisDupeFilter(RFPDupeFilter):
    """The exact fingerprint set, built per crawler (no spider argument, no ``from_settings``)."""

    def __init__(self, server, key: str, debug: bool = False, *, crawler=None, stats=None):
        super().__init__(server, key, debug)
        self.fingerprinter = crawler.request_fingerprinter if crawler is not None else None
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler) -> RedisDupeFilter:
        settings = crawler.settings
        name = _spider_name(crawler)
        return cls(
            redis_from_settings(settings),
            CrawlKeys.for_rule(name, settings).dupefilter,
            settings.getbool("DUPEFILTER_DEBUG"),
            crawler=crawler,
            stats=crawler.stats,
        )

    @classmethod
    def from_spider(cls, spider) -> RedisDupeFilter:
        return cls.from_crawler(spider.crawler)

    def request_fingerprint(self, request: Request) -> str:
        if self.fingerprinter is None:
            return super().request_fingerprint(request)
        return self.fingerprinter.fingerprint(request).hex()

    def add_and_push(self, request: Request, queue_key: str, data: bytes, score: float) -> bool:
        """Mark ``request`` seen and queue it (``data`` with ``score``) in one Lua script; False
        if it was seen before. Two round trips instead would lose the request of a worker
        killed between them: seen, but never queued."""
        if self._add_and_push is None:
            self._add_and_push = self.server.register_script(_SET_ADD_AND_PUSH)
        fingerprint = self.request_fingerprint(request)
        return bool(self._add_and_push(keys=[self.key, queue_key], args=[fingerprint, score, data]))

    _add_and_push = None

    def log(self, request: Request, spider: Any = None) -> None:
        if self.stats is not None:
            self.stats.inc_value("dupefilter/filtered")
        if self.debug or self.logdupes:
            suffix = "" if self.debug else " - no more duplicates will be shown"
            logger.debug(
                "Filtered duplicate request %(request)s%(suffix)s",
                {"request": request, "suffix": suffix},
            )
            self.logdupes = self.debug

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: other workers still use them (the scheduler clears them when
        the last worker of a finished crawl leaves)."""


# KEYS: the fingerprint set, the queue. ARGV: fingerprint, score, encoded request.
_SET_ADD_AND_PUSH = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# Test-and-set of the k bits of a fingerprint; with a queue key, the request is queued by the
# same script when it is new (keys: the bitmaps, then the queue; ARGV: positions, then score and
# encoded request).
_BLOOM_ADD_AND_PUSH = """
local n = #ARGV - 2
local seen = 1
for i = 1, n do
  local shard, bit = string.match(ARGV[i], '^(%d+):(%d+)$')
  if redis.call('SETBIT', KEYS[tonumber(shard) + 1], tonumber(bit), 1) == 0 then seen = 0 end
end
if seen == 0 then redis.call('ZADD', KEYS[#KEYS], ARGV[n + 1], ARGV[n + 2]) end
return seen
"""

# KEYS: the filter's bitmaps. ARGV: bits per bitmap, then k bit positions as "shard:bit".
# Sets all k bits; returns 1 when every one was already set (seen before), else 0. Atomic, so of
# two workers adding the same URL at once exactly one is told it is new.
_BLOOM_ADD = """
local seen = 1
for i = 1, #ARGV do
  local shard, bit = string.match(ARGV[i], '^(%d+):(%d+)$')
  if redis.call('SETBIT', KEYS[tonumber(shard) + 1], tonumber(bit), 1) == 0 then seen = 0 end
end
return seen
"""

# A Redis string holds at most 512 MiB = 2**32 bits; larger filters are split into shards.
MAX_SHARD_BITS = 2**32


class BloomFilter:
    """A Bloom filter in Redis bitmaps, sized from an expected count and a false-positive rate.

    >>> f = BloomFilter.size_for(1_000_000, 0.001)
    >>> f.bits, f.hashes, round(f.bits / 8 / 1_000_000, 2)
    (14377588, 10, 1.8)
    """

    def __init__(self, bits: int, hashes: int, server=None, key: str = "bloom"):
        self.bits = bits
        self.hashes = hashes
        self.shards = max(1, math.ceil(bits / MAX_SHARD_BITS))
        self.shard_bits = math.ceil(bits / self.shards)
        self.server = server
        self.key = key
        self.shard_keys = [f"{key}:{i}" for i in range(self.shards)]
        self._add = server.register_script(_BLOOM_ADD) if server is not None else None

    @classmethod
    def size_for(cls, capacity: int, error_rate: float, **kwargs: Any) -> BloomFilter:
        if capacity < 1 or not 0 < error_rate < 1:
            raise ValueError("a Bloom filter needs capacity >= 1 and 0 < error_rate < 1")
        bits = math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2)
        hashes = max(1, round(bits / capacity * math.log(2)))
        return cls(bits, hashes, **kwargs)

    def positions(self, fingerprint: bytes) -> list[str]:
        """The k bits of a fingerprint: k independent 64-bit hashes cut from one BLAKE2b digest.
        (Double hashing of the fingerprint alone measured ~20% above the target rate.)"""
        digest = hashlib.blake2b(fingerprint, digest_size=min(64, 8 * self.hashes)).digest()
        if self.hashes > 8:  # blake2b digests stop at 64 bytes; a second one gives the rest
            digest += hashlib.blake2b(fingerprint, digest_size=64, person=b"bloom2").digest()
        out = []
        for i in range(self.hashes):
            bit = int.from_bytes(digest[8 * i : 8 * i + 8], "big") % self.bits
            out.append(f"{bit // self.shard_bits}:{bit % self.shard_bits}")
        return out

    def allocate(self) -> None:
        """Create the bitmaps at their full size at once. Grown bit by bit instead, Redis
        over-allocates each step (up to double), and the filter would take ~25% more memory."""
        pipe = self.server.pipeline(transaction=False)
        for key in self.shard_keys:
            pipe.setbit(key, self.shard_bits - 1, 0)
        pipe.execute()
        self._allocated = True

    _allocated = False

    def add(self, fingerprint: bytes) -> bool:
        """Add a fingerprint (at least 16 bytes of a good hash); True if it was (probably) there."""
        if not self._allocated:
            self.allocate()
        return bool(self._add(keys=self.shard_keys, args=self.positions(fingerprint)))

    def add_and_push(self, fingerprint: bytes, queue_key: str, data: bytes, score: float) -> bool:
        """:meth:`add`, and queue ``data`` when the fingerprint is new, atomically; True if it
        was (probably) there (then nothing is queued)."""
        if not self._allocated:
            self.allocate()
        if self._add_push is None:
            self._add_push = self.server.register_script(_BLOOM_ADD_AND_PUSH)
        return bool(
            self._add_push(
                keys=[*self.shard_keys, queue_key],
                args=[*self.positions(fingerprint), score, data],
            )
        )

    _add_push = None

    def clear(self) -> None:
        self.server.delete(*self.shard_keys)

    def memory(self) -> int:
        """Bytes Redis uses for the bitmaps (they grow as high bits get set)."""
        return sum(self.server.memory_usage(k) or 0 for k in self.shard_keys)


class BloomDupeFilter(RedisDupeFilter):
    """A Bloom-filter dupefilter for very large crawls (``DISTRIBUTED_DUPEFILTER = "bloom"``).

    Sized by ``DISTRIBUTED_BLOOM_CAPACITY`` (expected URLs) and ``DISTRIBUTED_BLOOM_ERROR_RATE``.
    Past its capacity the false-positive rate climbs, and a false positive is a page never
    fetched: size it for the whole crawl.
    """

    def __init__(self, server, key: str, debug: bool = False, *, crawler=None, stats=None):
        super().__init__(server, key, debug, crawler=crawler, stats=stats)
        settings = crawler.settings if crawler is not None else {}
        capacity = settings.getint("DISTRIBUTED_BLOOM_CAPACITY")
        error_rate = settings.getfloat("DISTRIBUTED_BLOOM_ERROR_RATE")
        try:
            self.bloom = BloomFilter.size_for(
                capacity, error_rate, server=server, key=key + ":bloom"
            )
        except ValueError as exc:
            raise NotConfigured(f"DISTRIBUTED_BLOOM_*: {exc}") from None

    def request_seen(self, request: Request) -> bool:
        if self.fingerprinter is not None:
            fingerprint = self.fingerprinter.fingerprint(request)
        else:
            fingerprint = bytes.fromhex(super().request_fingerprint(request))
        return self.bloom.add(fingerprint)

    def add_and_push(self, request: Request, queue_key: str, data: bytes, score: float) -> bool:
        if self.fingerprinter is not None:
            fingerprint = self.fingerprinter.fingerprint(request)
        else:
            fingerprint = bytes.fromhex(super().request_fingerprint(request))
        return not self.bloom.add_and_push(fingerprint, queue_key, data, score)

    def clear(self) -> None:
        self.bloom.clear()


def _spider_name(crawler) -> str:
    spider = getattr(crawler, "spider", None)
    if spider is not None:
        return spider.name
    return crawler.spidercls.name
