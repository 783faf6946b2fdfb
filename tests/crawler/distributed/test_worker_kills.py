"""Two workers share a crawl; one is killed with SIGKILL, at six different moments of the
crawl. Every page is still fetched, and the store holds every item exactly once: a lease ends
only when the requests and items its response produced are durable (crawler/distributed/
leases.py), and the killed worker's journal is replayed by the survivor."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from crawler.store import open_store
from tests.crawler.crawl import stat
from tests.crawler.distributed.test_workers import seed_in_process
from tests.crawler.distributed.workers import Worker, Workers
from tests.sample_site.data import catalogue

BOOKS = 80  # ~95 pages: each worker's share outlasts the latest moment

# How many pages the doomed worker has downloaded when it is killed: from its first pages
# (only the index and tag lists in flight) to late in the crawl.
MOMENTS = (1, 4, 9, 15, 22, 26)


def wait_for_pages(worker: Worker, pages: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(worker.crawled()) < pages:
        assert worker.proc.poll() is None, f"finished before page {pages}: {worker.log[-2000:]}"
        assert time.monotonic() < deadline, worker.log[-2000:]
        time.sleep(0.02)


def kill_one_worker(site: str, redis_url: str, run_dir: Path, moment: int) -> tuple:
    """One crawl by two workers; the first is killed after ``moment`` pages. Returns the
    figures of the kill once every check passed."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    books = {f"{site}/book/{book.id}.html" for book in catalogue(BOOKS)}
    run_dir.mkdir()
    workers = Workers(run_dir, redis_url)
    shared = (
        "-a", f"site={site}",
        "-s", f"STORE_URI=sqlite:///{run_dir / 'store.db'}",  # one store for both
        "-s", f"STORE_JOURNAL_DIR={run_dir / 'journal'}",
        "-s", "DISTRIBUTED_LEASE_TIMEOUT=2",
        "-s", "CONCURRENT_REQUESTS=3",
    )  # fmt: skip
    try:
        doomed = workers.start("sample_books", *shared, name="doomed")
        survivor = workers.start("sample_books", *shared, name="survivor")
        deadline = time.monotonic() + 30
        while client.zcard("sample_books:workers") < 2:
            assert time.monotonic() < deadline, doomed.log[-2000:] + survivor.log[-2000:]
            time.sleep(0.05)
        seed_in_process(client, site)
        wait_for_pages(doomed, moment)
        doomed.kill()
        assert survivor.wait(timeout=120) == 0, survivor.log[-3000:]
    finally:
        workers.stop_all()

    fetched = Counter(doomed.crawled()) | Counter(survivor.crawled())
    assert books <= set(fetched), sorted(books - set(fetched))[:5]
    with open_store(f"sqlite:///{run_dir / 'store.db'}") as store:
        stored = [d["_url"] for d in store.find("sample_books")]
    assert len(stored) == len(set(stored)) == len(books) and set(stored) == books
    assert not client.keys("sample_books:inflight:*")
    assert client.zcard("sample_books:requests") == 0
    client.close()
    both = set(doomed.crawled()) & set(survivor.crawled())
    return (
        moment,
        len(doomed.crawled()),
        len(both),
        stat(survivor.log, "distributed/leases/recovered"),
        stat(survivor.log, "store/journal/replayed"),
    )


@pytest.mark.timeout(1200)
def test_a_worker_killed_at_six_moments_loses_no_page_and_no_item(
    make_sample_site, redis_url, tmp_path
):
    site = make_sample_site(books=BOOKS, latency=0.05).url
    # Two crawls at a time, each in a Redis database of its own (the waits of one, for leases
    # to expire and the crawl to go idle, overlap the other's work).
    base = redis_url.rsplit("/", 1)[0]
    lanes = [MOMENTS[0::2], MOMENTS[1::2]]

    def lane(number: int) -> list[tuple]:
        url = f"{base}/{number + 1}"
        return [
            kill_one_worker(site, url, tmp_path / f"moment{moment}", moment)
            for moment in lanes[number]
        ]

    with ThreadPoolExecutor(len(lanes)) as pool:
        figures = sorted(f for done in pool.map(lane, range(len(lanes))) for f in done)
    assert [f[0] for f in figures] == sorted(MOMENTS)
    for moment, pages, again, recovered, replayed in figures:
        print(
            f"killed after {moment} page(s) ({pages} logged): {again} page(s) fetched by both, "
            f"{recovered} lease(s) recovered, {replayed} journaled item(s) replayed"
        )
