"""Pins the one private Scrapy attribute the platform reaches into, so that a Scrapy upgrade that
moves it fails here, by name, instead of silently slowing distributed crawls down.

``crawler/distributed/scheduler.py`` wakes the engine (``engine._slot.nextcall.schedule()``) when
other workers queued requests: Scrapy 2.19 has no public call for it, and without it an idle
worker notices new work only every 5 s.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.crawler.crawl import ROOT

PROBE = textwrap.dedent(
    """
    from scrapy import Spider
    from scrapy.crawler import CrawlerProcess

    seen = {}

    class Probe(Spider):
        name = "probe"

        async def start(self):
            slot = getattr(self.crawler.engine, "_slot", None)
            seen["schedule"] = callable(getattr(getattr(slot, "nextcall", None), "schedule", None))
            if seen["schedule"]:
                slot.nextcall.schedule()  # as the scheduler calls it
            return
            yield

    process = CrawlerProcess({"LOG_ENABLED": False, "TELNETCONSOLE_ENABLED": False})
    process.crawl(Probe)
    process.start()
    print("nextcall.schedule" if seen.get("schedule") else "MISSING")
    """
)


def test_engine_slot_nextcall_schedule_exists():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "nextcall.schedule", out.stderr[-2000:]


def test_the_key_patterns_are_scrapy_redis_own() -> None:
    """crawler/distributed/redis_keys.py copies scrapy-redis's default key patterns (so a crawl
    on one machine does not load scrapy-redis): they must stay the same."""
    from scrapy_redis import defaults

    from crawler.distributed import redis_keys

    assert redis_keys.SCHEDULER_QUEUE_KEY == defaults.SCHEDULER_QUEUE_KEY
    assert redis_keys.SCHEDULER_DUPEFILTER_KEY == defaults.SCHEDULER_DUPEFILTER_KEY
