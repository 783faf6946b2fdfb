"""One distributed worker vs two, on the sample site with a fixed per-request latency.

    .venv/bin/python benchmarks/bench_workers.py [--books 400] [--latency-ms 200] [--concurrency 4]

Each worker may have ``--concurrency`` requests in flight and every response takes
``--latency-ms``, so a worker is bound by latency, not CPU, and a second worker (its own
process, as on another machine) should nearly double the rate. Workers are started first and
wait on the empty queue; the clock starts when the rule's start request is pushed to Redis and
stops when the queue is empty and no request is in flight. A throwaway redis-server runs on a
free loopback port. Prints pages/s for each and the ratio (target: >= 1.7).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from crawler.commands.demo import start_sample_site  # noqa: E402
from crawler.distributed.redis_keys import CrawlKeys  # noqa: E402
from crawler.distributed.seed import push_requests, reset_crawl  # noqa: E402
from tests.crawler.crawl import stat  # noqa: E402
from tests.redis_server import REDIS_SERVER, RedisServer  # noqa: E402

RULE = "sample_books"


def start_worker(url: str, redis_url: str, workdir: Path, n: int, concurrency: int):
    log = open(workdir / f"worker{n}.log", "w")  # noqa: SIM115 - closed after the run
    cmd = [
        sys.executable, "-m", "scrapy.cmdline", "crawl", RULE, "-a", f"site={url}",
        "-s", f"CONCURRENT_REQUESTS={concurrency}",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
        "-s", "DISTRIBUTED_IDLE_TIMEOUT=1", "-s", "DISTRIBUTED_POLL_INTERVAL=0.1",
        "-s", "LOG_LEVEL=INFO", "-s", "ITEM_PIPELINES={}", "-s", "EXTENSIONS={}",
        "-s", f"STORE_URI=sqlite:///{workdir / 'store.db'}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log


def crawl(workers: int, url: str, redis_url: str, concurrency: int) -> tuple[int, float]:
    """Pages fetched and seconds taken by ``workers`` workers crawling the site once."""
    from scrapy.utils.test import get_crawler

    from crawler.spider.loader import RuleSpiderLoader

    client = redis.Redis.from_url(redis_url)
    keys = CrawlKeys.for_rule(RULE)
    reset_crawl(client, keys)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        procs = [start_worker(url, redis_url, workdir, n, concurrency) for n in range(workers)]
        try:
            deadline = time.monotonic() + 60
            while client.zcard(keys.workers) < workers:  # every worker is up and polling
                if time.monotonic() > deadline:
                    raise SystemExit(
                        "workers did not start:\n" + (workdir / "worker0.log").read_text()[-2000:]
                    )
                time.sleep(0.05)
            settings = get_crawler(settings_dict={"RULES_DIR": str(ROOT / "rules")}).settings
            spider = RuleSpiderLoader(settings).load(RULE)(site=url)
            start = [r for r in _start_requests(spider)]
            started = time.monotonic()
            push_requests(client, spider, keys, start)
            while True:  # until nothing is queued or in flight (after the work began)
                time.sleep(0.02)
                inflight = sum(client.hlen(k) for k in client.keys(keys.inflight_prefix + "*"))
                if (
                    client.zcard(keys.queue) == 0
                    and inflight == 0
                    and time.monotonic() - started > 0.5
                ):
                    break
            seconds = time.monotonic() - started
            for proc, log in procs:
                proc.wait(timeout=60)
                log.close()
            pages = sum(
                stat((workdir / f"worker{n}.log").read_text(), "response_received_count")
                for n in range(workers)
            )
        finally:
            for proc, log in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                log.close()
    return pages, seconds


def _start_requests(spider):
    import asyncio

    async def collect():
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=400)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per worker")
    opts = parser.parse_args()
    if REDIS_SERVER is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    site, url = start_sample_site(opts.books, opts.latency_ms)
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp)).start()
        try:
            print(
                f"sample site: {opts.books} books, {opts.latency_ms} ms per response; "
                f"{opts.concurrency} requests in flight per worker; redis {server.url}"
            )
            rates = {}
            for workers in (1, 2):
                pages, seconds = crawl(workers, url, server.url, opts.concurrency)
                rates[workers] = pages / seconds
                print(
                    f"{workers} worker(s): {pages} pages in {seconds:.2f} s = {rates[workers]:.1f} pages/s"
                )
            print(f"ratio two/one: {rates[2] / rates[1]:.2f} (target >= 1.7)")
        finally:
            server.stop()
            site.terminate()
            site.wait(timeout=10)


if __name__ == "__main__":
    main()
