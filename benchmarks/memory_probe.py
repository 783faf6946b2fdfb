"""What holds memory during a crawl: sampled twice a second inside the crawler process.

``python -m benchmarks.run_spider rule SITE --mode big --probe out.json [--tracemalloc 16]``

Each sample records the resident set (``/proc/self/statm``), the live objects Scrapy tracks
(``scrapy.utils.trackref``: responses, requests, selectors), the scraper's backlog (responses
queued or being processed and the body bytes it counts), the downloader's active requests, the
item pipelines' buffered items, and, with ``--tracemalloc N``, the Python heap tracemalloc sees.
When the traced heap reaches a new high (by 4 MiB or more), a tracemalloc snapshot is taken;
the last one (the peak) is written as its top allocation sites (file:line) and its top
tracebacks. tracemalloc does not see libxml2's allocations (lxml trees): the live selector and
response counts stand in for those. Measuring slows the crawl: never mix with timed runs.
"""

from __future__ import annotations

import gc
import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.utils.trackref import live_refs

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


class MemoryProbe:
    def __init__(self, crawler: Any, path: Path, frames: int = 0) -> None:
        self.crawler = crawler
        self.path = path
        self.frames = frames
        self.samples: list[dict[str, Any]] = []
        self.peak: dict[str, Any] | None = None
        self.snapshot: tracemalloc.Snapshot | None = None
        self.snapshot_mib = 0.0
        self.snapshot_row: dict[str, Any] | None = None
        self._loop: Any = None
        self._t0 = time.monotonic()
        if frames:
            tracemalloc.start(frames)
        crawler.signals.connect(self.engine_started, signal=signals.engine_started)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def engine_started(self) -> None:
        from scrapy.utils.asyncio import create_looping_call

        self._loop = create_looping_call(self.sample)
        self._loop.start(0.5, now=True)

    def spider_closed(self, spider: Any) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def sample(self) -> None:
        engine = self.crawler.engine
        slot = engine.scraper.slot if engine is not None else None
        refs = {cls.__name__: len(objs) for cls, objs in live_refs.items() if objs}
        store = _store_pipeline(self.crawler)
        row = {
            "t": round(time.monotonic() - self._t0, 1),
            "rss_mib": round(rss_mib(), 1),
            "refs": refs,
            "scraper_queue": len(slot.queue) if slot else None,
            "scraper_active": len(slot.active) if slot else None,
            "scraper_active_bytes": slot.active_size if slot else None,
            "itemproc": getattr(slot, "itemproc_size", None),
            "downloading": len(engine.downloader.active) if engine else None,
            "store_buffered": getattr(store, "_buffered", None),
            "responses": self.crawler.stats.get_value("response_received_count", 0),
            "gc_full_collections": gc.get_stats()[2]["collections"],
        }
        if self.frames:
            current, peak = tracemalloc.get_traced_memory()
            row["traced_mib"] = round(current / 2**20, 1)
            row["traced_peak_mib"] = round(peak / 2**20, 1)
        self.samples.append(row)
        if self.peak is None or row["rss_mib"] > self.peak["rss_mib"]:
            self.peak = row
        # tracemalloc slows the crawl several times over, which moves the collector's timing:
        # under it, snapshot at the highest traced heap rather than at the highest RSS
        if self.frames and row["traced_mib"] >= self.snapshot_mib + 4:
            self.snapshot_mib = row["traced_mib"]
            self.snapshot_row = row
            self.snapshot = tracemalloc.take_snapshot()

    def write(self) -> None:
        out: dict[str, Any] = {"peak": self.peak, "samples": self.samples}
        if self.snapshot is not None:
            snap = self.snapshot.filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
            out["snapshot_at"] = self.snapshot_row
            out["top_lines"] = [
                f"{s.size / 2**20:8.1f} MiB {s.count:8d} blocks  {s.traceback[0]}"
                for s in snap.statistics("lineno")[:30]
            ]
            out["top_tracebacks"] = [
                {
                    "mib": round(s.size / 2**20, 1),
                    "blocks": s.count,
                    "traceback": [str(f) for f in s.traceback],
                }
                for s in snap.statistics("traceback")[:12]
            ]
        self.path.write_text(json.dumps(out, indent=1))


def _store_pipeline(crawler: Any) -> Any:
    scraper = crawler.engine.scraper if crawler.engine is not None else None
    itemproc = getattr(scraper, "itemproc", None)
    for pipe in getattr(itemproc, "middlewares", ()):
        if type(pipe).__name__ == "StorePipeline":
            return pipe
    return None
