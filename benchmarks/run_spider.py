"""Run one spider in this process and print its figures as one JSON line (used by the benchmarks).

    python -m benchmarks.run_spider {rule,handwritten} SITE [--mode small|big]
        [--pipelines default|on|off] [--digest FILE] [--probe FILE [--tracemalloc FRAMES]]
        [-s NAME=VALUE ...]

``--mode small`` crawls the book catalogue (rules/sample_books.yaml vs HandwrittenBooks),
``--mode big`` the big-page blog (benchmarks/rules/bench_blog.yaml vs HandwrittenBlog).
``--pipelines``: ``off`` runs without item pipelines and extensions at 32 concurrent requests
(what the small-mode figures were always measured with); ``on`` keeps the project's settings as
they are (pipelines, extensions, concurrency) and stores into a SQLite file in a temporary
directory that is removed afterwards; ``default`` is ``off`` for small and ``on`` for big.

The JSON line: pages, items, seconds (wall), cpu_seconds, peak_rss_kib (this process's peak
resident set, ``getrusage`` ``ru_maxrss``), start_rss_kib (the same, just before the crawl),
sys_seconds and minor_faults (kernel time and page faults during the crawl).
``--digest FILE`` writes ``{url: sha1 of the item's fields}`` as the spider yielded them (a
pipeline placed first; ``_crawled_at`` and ``_rule`` left out), so two spiders can be compared
field by field. ``--probe FILE`` records what holds memory while crawling (see memory_probe).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

ROOT = Path(__file__).resolve().parent.parent
BENCH_RULES = ROOT / "benchmarks" / "rules"
RULES = {"small": "sample_books", "big": "bench_blog"}
UNCOMPARED = ("_crawled_at", "_rule")  # differ by construction between two spiders


class DigestPipeline:
    """First in the item pipelines: one hash of each item's fields, by page URL."""

    digests: dict[str, str] = {}

    def process_item(self, item):
        fields = {k: v for k, v in item.items() if k not in UNCOMPARED}
        text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
        self.digests[item.get("_url", "?")] = hashlib.sha1(text.encode()).hexdigest()
        return item


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_spider")
    parser.add_argument("which", choices=("rule", "handwritten"))
    parser.add_argument("site")
    parser.add_argument("--mode", choices=("small", "big"), default="small")
    parser.add_argument("--pipelines", choices=("default", "on", "off"), default="default")
    parser.add_argument("--digest", type=Path)
    parser.add_argument("--probe", type=Path)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    return parser.parse_args(argv)


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    pipelines = opts.pipelines
    if pipelines == "default":
        pipelines = "off" if opts.mode == "small" else "on"
    settings = get_project_settings()
    tmp = tempfile.TemporaryDirectory(prefix="bench-crawl-")
    if pipelines == "off":
        settings.setdict(
            {
                "ITEM_PIPELINES": {},
                "EXTENSIONS": {},
                "CONCURRENT_REQUESTS": 32,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
                "STORE_RUNS_ENABLED": False,
            },
            priority="cmdline",
        )
    store = Path(tmp.name)
    settings.setdict(
        {
            "LOG_LEVEL": "ERROR",
            "DISTRIBUTED": False,  # one process, whatever REDIS_URL the environment has
            "STORE_URI": f"sqlite:///{store / 'items.db'}",
            "STORE_SPILL_DIR": str(store / "spill"),
            "STORE_JOURNAL_DIR": str(store / "journal"),
            "RUN_LOG_DIR": str(store / "logs"),
            "INCREMENTAL_STATE_URI": f"sqlite:///{store / 'seen.db'}",
        },
        priority="cmdline",
    )
    if opts.mode == "big":
        settings.set("RULES_DIR", str(BENCH_RULES), priority="cmdline")
    for pair in opts.settings:
        name, _, value = pair.partition("=")
        settings.set(name, value, priority="cmdline")
    if opts.digest:
        pipes = dict(settings.getdict("ITEM_PIPELINES"))
        pipes[f"{__name__}.DigestPipeline"] = 1
        settings.set("ITEM_PIPELINES", pipes, priority="cmdline")

    process = CrawlerProcess(settings)
    if opts.which == "rule":
        spider = process.spider_loader.load(RULES[opts.mode])
    elif opts.mode == "small":
        from benchmarks.handwritten import HandwrittenBooks as spider
    else:
        from benchmarks.handwritten import HandwrittenBlog as spider
    crawler = process.create_crawler(spider)
    probe = None
    if opts.probe:
        from benchmarks.memory_probe import MemoryProbe

        probe = MemoryProbe(crawler, opts.probe, frames=opts.tracemalloc)
    start_rss = peak_rss_kib()
    usage_started = resource.getrusage(resource.RUSAGE_SELF)
    started, cpu_started = time.perf_counter(), time.process_time()
    process.crawl(crawler, site=opts.site)
    process.start()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = peak_rss_kib()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if probe is not None:
        probe.write()
    tmp.cleanup()
    stats = crawler.stats.get_stats()
    if opts.digest:
        opts.digest.write_text(json.dumps(DigestPipeline.digests, sort_keys=True))
    print(
        json.dumps(
            {
                "pages": stats.get("response_received_count", 0),
                "items": stats.get("item_scraped_count", 0),
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "peak_rss_kib": peak,
                "start_rss_kib": start_rss,
                "sys_seconds": usage.ru_stime - usage_started.ru_stime,
                "minor_faults": usage.ru_minflt - usage_started.ru_minflt,
                "stored": stats.get("store/items/new", 0),
                "errors": stats.get("log_count/ERROR", 0),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
