"""Run one spider in this process and print its stats as one JSON line (used by the benchmarks)."""

from __future__ import annotations

import json
import sys
import time

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings


def main() -> None:
    which, site = sys.argv[1], sys.argv[2]
    settings = get_project_settings()
    settings.setdict(
        {
            "LOG_LEVEL": "ERROR",
            "ITEM_PIPELINES": {},
            "EXTENSIONS": {},
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            "STORE_RUNS_ENABLED": False,
        },
        priority="cmdline",
    )
    process = CrawlerProcess(settings)
    if which == "rule":
        spider = process.spider_loader.load("sample_books")
    else:
        from benchmarks.handwritten import HandwrittenBooks as spider
    crawler = process.create_crawler(spider)
    started, cpu_started = time.perf_counter(), time.process_time()
    process.crawl(crawler, site=site)
    process.start()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stats = crawler.stats.get_stats()
    print(
        json.dumps(
            {
                "pages": stats.get("response_received_count", 0),
                "items": stats.get("item_scraped_count", 0),
                "seconds": elapsed,
                "cpu_seconds": cpu,
            }
        )
    )


if __name__ == "__main__":
    main()
