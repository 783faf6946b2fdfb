"""The fleet: a distributed crawl on three Scrapyd nodes against one, and the cost of dispatch.

The sample site answers every response after a fixed latency (50 ms), so each worker is bound
by latency, not CPU (one request in flight per worker). For 1 and then 3 nodes (Scrapyd from
PyPI, one worker each, started through the fleet as the data service starts them), the workers
are scheduled, and once every one is up and polling Redis the rule is seeded; the clock runs
from the seed to the moment nothing is queued or in flight. Pages come from the workers' run
records. Then the dispatch overhead: the same small crawl started through Scrapyd and with
`scrapy crawl` directly, timed from the start call to the site's first request and to the end.

    .venv/bin/python benchmarks/bench_fleet.py [--books 600] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from scrapy.settings import Settings  # noqa: E402

from crawler.commands.seed import requests_to_seed  # noqa: E402
from crawler.distributed.redis_keys import CrawlKeys  # noqa: E402
from crawler.distributed.seed import push_requests, reset_crawl  # noqa: E402
from crawler.nodes import Fleet  # noqa: E402
from crawler.store import open_store  # noqa: E402
from tests.redis_server import REDIS_SERVER, RedisServer  # noqa: E402
from tests.sample_site import SampleSite  # noqa: E402
from tests.scrapyd_nodes import ScrapydNode  # noqa: E402
from tests.settings import project_settings  # noqa: E402

RULE = "sample_books"


def fleet_for(nodes: list[ScrapydNode], workdir: Path, redis_url: str) -> Fleet:
    return Fleet(
        Settings(
            project_settings(
                NODES={n.name: n.config() for n in nodes},
                NODES_FILE=str(workdir / "nodes.yaml"),
                STORE_URI=f"sqlite:///{workdir / 'items.db'}",
                REDIS_URL=redis_url,
                NODES_CRAWL_SETTINGS={
                    "STORE_JOURNAL_DIR": str(workdir / "journal"),
                    "DISTRIBUTED_IDLE_TIMEOUT": 2,
                    "CONCURRENT_REQUESTS": 1,
                    "DISTRIBUTED_POLL_INTERVAL": 0.1,  # a worker finding the queue empty looks again soon
                    "RUN_UPDATE_INTERVAL": 0,
                    "LOG_LEVEL": "INFO",
                },
            )
        )
    )


def distributed(
    nodes: list[ScrapydNode], url: str, redis_url: str, workdir: Path
) -> tuple[int, float]:
    """Pages and seconds of one crawl by one worker on each of ``nodes``."""
    from crawler.spider.loader import RuleSpiderLoader

    fleet = fleet_for(nodes, workdir, redis_url)
    client = redis.Redis.from_url(redis_url)
    keys = CrawlKeys.for_rule(RULE)
    reset_crawl(client, keys)
    digest = fleet.digest()
    run = f"bench{len(nodes)}{int(time.time())}"
    jobs = []
    for k, node in enumerate(fleet.nodes()):
        job = f"{run}.{k + 1}"
        settings = {"DISTRIBUTED": "1", "RUN_ID": job, "FLEET_RUN_ID": run}
        version = fleet.deployed_version(node, digest)
        fleet.schedule(node, RULE, job, {"site": url}, settings, version)
        jobs.append((node, job))
    deadline = time.monotonic() + 120
    while client.zcard(keys.workers) < len(nodes):  # every worker is up and polling
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start")
        time.sleep(0.05)
    settings = Settings(project_settings(RULES_DIR=str(ROOT / "rules")))
    spider = RuleSpiderLoader(settings).load(RULE)(site=url)
    requests = requests_to_seed(spider, [], None, settings.getint("RULE_MAX_START_REQUESTS"))
    started = time.monotonic()
    push_requests(client, spider, keys, requests)
    while True:
        time.sleep(0.02)
        inflight = sum(client.hlen(k) for k in client.keys(keys.inflight_prefix + "*"))
        if client.zcard(keys.queue) == 0 and inflight == 0 and time.monotonic() - started > 0.5:
            break
    seconds = time.monotonic() - started
    for node, job in jobs:
        while fleet.job_state(node, job) not in ("finished", "unknown"):
            time.sleep(0.2)
    with open_store(f"sqlite:///{workdir / 'items.db'}") as store:
        pages = sum(p.get("pages") or 0 for p in store.run_parts(run))
    return pages, seconds


class FirstRequest:
    """An aiohttp middleware noting when the site saw its first request since ``reset``."""

    def __init__(self) -> None:
        self.at: float | None = None

    def reset(self) -> None:
        self.at = None

    def middleware(self):
        from aiohttp import web

        @web.middleware
        async def note(request, handler):
            if self.at is None:
                self.at = time.monotonic()
            return await handler(request)

        return note


def wait_first(first: FirstRequest, since: float) -> float:
    while first.at is None:
        time.sleep(0.005)
    return first.at - since


def dispatch_overhead(
    node: ScrapydNode, workdir: Path, url: str, first: FirstRequest, rounds: int
) -> None:
    fleet = fleet_for([node], workdir, "")
    direct, scrapyd = [], []
    for i in range(rounds):
        first.reset()
        t0 = time.monotonic()
        job = f"over{i}{int(time.time())}"
        target, _ = fleet.start(
            RULE, {"site": url}, node=node.name, run_id=job, settings={"CLOSESPIDER_PAGECOUNT": 10}
        )
        to_first = wait_first(first, t0)
        while fleet.job_state(target, job) not in ("finished", "unknown"):
            time.sleep(0.05)
        scrapyd.append((to_first, time.monotonic() - t0))
        first.reset()
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy.cmdline", "crawl", RULE, "-a", f"site={url}", "-s", "CLOSESPIDER_PAGECOUNT=10",
             "-s", f"STORE_URI=sqlite:///{workdir / 'direct.db'}", "-s", "LOG_LEVEL=WARNING"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "CRAWLER_DATA_DIR": str(workdir / "direct")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        to_first = wait_first(first, t0)
        proc.wait(timeout=120)
        direct.append((to_first, time.monotonic() - t0))
    for name, rows in (("scrapy crawl", direct), ("through Scrapyd", scrapyd)):
        print(
            f"{name:<16} to first request {statistics.median(r[0] for r in rows):5.2f} s, "
            f"to the end {statistics.median(r[1] for r in rows):5.2f} s (median of {rounds})"
        )
    print(
        f"dispatch overhead (median): {statistics.median(r[0] for r in scrapyd) - statistics.median(r[0] for r in direct):+.2f} s to the first request, "
        f"{statistics.median(r[1] for r in scrapyd) - statistics.median(r[1] for r in direct):+.2f} s to the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=600)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="dispatch overhead runs")
    opts = parser.parse_args()
    if REDIS_SERVER is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    first = FirstRequest()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SampleSite(
            books=opts.books, latency=opts.latency_ms / 1000, middlewares=[first.middleware()]
        ) as site,
    ):
        work = Path(tmp)
        server = RedisServer(work).start()
        nodes = [ScrapydNode(work / f"n{i}", f"n{i}", max_proc=2).start() for i in (1, 2, 3)]
        try:
            _, results = fleet_for(nodes, work, server.url).deploy()
            assert all(r["ok"] for r in results), results
            print(
                f"sample site: {opts.books} books, {opts.latency_ms} ms per response; 1 request in flight per worker; Scrapyd nodes on 127.0.0.1"
            )
            rates = {}
            for count in (1, 3):
                pages, seconds = distributed(
                    nodes[:count], site.url, server.url, work / f"run{count}"
                )
                rates[count] = pages / seconds
                print(
                    f"{count} node(s), one worker each: {pages} pages in {seconds:.2f} s = {rates[count]:.1f} pages/s"
                )
            print(f"ratio three nodes / one: {rates[3] / rates[1]:.2f} (target >= 2.7)")
            dispatch_overhead(nodes[0], work / "overhead", site.url, first, opts.rounds)
        finally:
            for node in nodes:
                node.stop()
            server.stop()


if __name__ == "__main__":
    main()
