"""A slow store does not slow the crawl: store writes run on a thread of their own.

    .venv/bin/python benchmarks/bench_slow_store.py [--books 2000] [--rounds 3] [--latency 0.2]
                                                    [--with-blocking]

``scrapy crawl sample_books`` of a generated copy of the sample site, run alternately into two
stores that differ only in their speed: an instant one (SQLite in memory) and the same with
``--latency`` seconds (200 ms) added to every batch it writes (``STORE_BATCH_SIZE=50``, so a
crawl of 2,000 books makes some 40 slow batches: 8 s of store time, a quarter of the crawl).
The site answers in ``--site-latency-ms`` (50 ms) and the crawl keeps ``--concurrency`` (4)
requests in flight, so its speed is set by the site, as a real crawl's is, and not by the CPU
that other processes share: a store that blocked the event loop would show as lost seconds.

``--with-blocking`` adds a third store whose latency holds the event loop instead, as the
pipeline's writes did before they moved to a thread: the benchmark must tell the two apart.

Each crawl runs in a fresh process with the whole platform as configured (journal, run
records, progress, coverage); speed is pages per second from spider opened to spider closed
on the monotonic clock (the final flush included). Prints every run, the median per store,
and the ratio slow / instant (target >= 0.90).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.commands.demo import start_sample_site  # noqa: E402
from crawler.store.sqlite import SqliteStore  # noqa: E402

BACKENDS = {"instant": "benchmarks.bench_slow_store.InstantStore"}
BACKENDS["slow"] = "benchmarks.bench_slow_store.SlowStore"
BACKENDS["blocking"] = "benchmarks.bench_slow_store.BlockingStore"


class InstantStore(SqliteStore):
    """SQLite in memory: ``instant://`` (anything after the scheme is ignored)."""

    def __init__(self, uri: str) -> None:
        super().__init__("sqlite://")
        self.uri = uri


class SlowStore(InstantStore):
    """The same, with ``?latency=SECONDS`` slept at every batch written."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.latency = float(uri.partition("latency=")[2] or 0.2)

    def upsert_many(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self.latency)
        return super().upsert_many(*args, **kwargs)

    def dead_letter(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self.latency)
        return super().dead_letter(*args, **kwargs)


class BlockingStore(SlowStore):
    """What the same latency costs when the write holds the crawl's event loop (as the store
    pipeline's writes did before they moved to a thread): each batch puts a sleep of
    ``latency`` on the loop. Shows that the benchmark tells the two apart."""

    def upsert_many(self, *args: Any, **kwargs: Any) -> Any:
        from twisted.internet import reactor

        reactor.callFromThread(time.sleep, self.latency)
        return InstantStore.upsert_many(self, *args, **kwargs)

    def dead_letter(self, *args: Any, **kwargs: Any) -> Any:
        from twisted.internet import reactor

        reactor.callFromThread(time.sleep, self.latency)
        return InstantStore.dead_letter(self, *args, **kwargs)


def crawl(url: str, store: str, work: Path, concurrency: int) -> dict[str, Any]:
    """One ``scrapy crawl`` into ``store``; its final stats."""
    import os

    import crawler.settings

    stats_file = work / "stats.json"
    extensions = {**crawler.settings.EXTENSIONS, "benchmarks.bench_slow_store.DumpStats": 900}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "crawl",
            "sample_books",
            "-a",
            f"site={url}",
            "-s",
            f"STORE_URI={store}",
            "-s",
            f"STORE_BACKENDS={json.dumps(BACKENDS)}",
            "-s",
            "STORE_BATCH_SIZE=50",
            "-s",
            f"STORE_SPILL_DIR={work / 'spill'}",
            "-s",
            f"STORE_JOURNAL_DIR={work / 'journal'}",
            "-s",
            f"RUN_LOG_DIR={work / 'logs'}",
            "-s",
            "STORE_RUNS_ENABLED=0",  # a record would only go to a fresh in-memory store
            "-s",
            "LOG_LEVEL=ERROR",
            "-s",
            "STATS_DUMP=0",
            "-s",
            f"CONCURRENT_REQUESTS={concurrency}",
            "-s",
            f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
            "-s",
            f"EXTENSIONS={json.dumps(extensions)}",
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BENCH_STATS": str(stats_file)},
    )
    if proc.returncode != 0:
        raise SystemExit(f"crawl into {store} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(stats_file.read_text())


class DumpStats:
    """Writes the crawl's final stats to ``$BENCH_STATS`` (the benchmark reads them), with the
    seconds from spider opened to spider closed on the monotonic clock (the stats' own times
    are wall-clock times, which a virtual machine's clock adjustments can skew)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> DumpStats:
        from scrapy import signals

        ext = cls()
        ext.crawler = crawler
        ext.opened = ext.closed = 0.0
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.opened = time.monotonic()

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.closed = time.monotonic()  # after the store pipeline's final flush

    def engine_stopped(self) -> None:
        import os

        stats = dict(self.crawler.stats.get_stats(), seconds=self.closed - self.opened)
        Path(os.environ["BENCH_STATS"]).write_text(json.dumps(stats, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--books", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2, help="store seconds per batch")
    parser.add_argument("--site-latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--with-blocking",
        action="store_true",
        help="also crawl into a store whose latency holds the event loop (the old way)",
    )
    opts = parser.parse_args()
    stores = {"instant": "instant://", "slow": f"slow://?latency={opts.latency}"}
    if opts.with_blocking:
        stores["blocking"] = f"blocking://?latency={opts.latency}"
    site, url = start_sample_site(opts.books, latency_ms=opts.site_latency_ms)
    print(
        f"sample site: {opts.books} books, {opts.site_latency_ms} ms per response; "
        f"{opts.concurrency} requests in flight; batches of 50 items",
        flush=True,
    )
    rates: dict[str, list[float]] = {name: [] for name in stores}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_no in range(1, opts.rounds + 1):
                order = list(stores) if round_no % 2 else list(reversed(stores))
                for which in order:
                    work = Path(tmp) / f"{which}-{round_no}"
                    work.mkdir()
                    stats = crawl(url, stores[which], work, opts.concurrency)
                    pages = stats["response_received_count"]
                    seconds = float(stats["seconds"])
                    rates[which].append(pages / seconds)
                    print(
                        f"round {round_no} {which:<8} {pages:>6} pages "
                        f"{stats.get('item_scraped_count', 0):>6} items "
                        f"{stats.get('store/batches', 0):>4} batches {seconds:7.2f}s "
                        f"{pages / seconds:8.1f} pages/s",
                        flush=True,
                    )
    finally:
        site.terminate()
        site.wait(timeout=10)
    instant, slow = statistics.median(rates["instant"]), statistics.median(rates["slow"])
    print(f"median instant store: {instant:8.1f} pages/s")
    print(f"median slow store ({opts.latency * 1000:.0f} ms per batch): {slow:8.1f} pages/s")
    print(f"ratio slow/instant: {slow / instant:.2f} (target >= 0.90)")
    if rates.get("blocking"):
        blocking = statistics.median(rates["blocking"])
        print(
            f"median blocking store (the same latency on the event loop): {blocking:8.1f} pages/s"
        )
        print(f"ratio blocking/instant: {blocking / instant:.2f} (what the thread saves)")


if __name__ == "__main__":
    main()
