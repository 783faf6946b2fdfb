"""The budget in real crawls of the sample site, which records what each host saw: one request
at a time per host when HOST_CONCURRENCY is 1, within one crawl and across two processes sharing
a Redis; a rate held across processes; no budget, no slowing; a 429 pauses its host."""

from __future__ import annotations

import threading
from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.politeness.budget import Limits, LocalBudget
from crawler.politeness.downloader import BudgetedDownloader
from tests.crawler.crawl import ROOT, crawl_sample_books, stat

RULES = ROOT / "rules"


def crawl(tmp: Path, url: str, *settings: str):
    tmp.mkdir(parents=True, exist_ok=True)
    proc = crawl_sample_books(tmp, RULES, url, f"RUN_LOG_DIR={tmp / 'logs'}", *settings)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_one_request_at_a_time_per_host_and_unslowed_without_a_budget(tmp_path, make_sample_site):
    site = make_sample_site(books=20, latency=0.05, record_hosts=True)
    free = crawl(tmp_path / "free", site.url)
    assert site.recorder.max_in_flight["127.0.0.1"] > 2  # no budget: Scrapy's concurrency
    assert stat(free.stderr, "politeness/granted") == 0

    site = make_sample_site(books=20, latency=0.05, record_hosts=True)
    one = crawl(tmp_path / "one", site.url, "HOST_CONCURRENCY=1")
    assert site.recorder.max_in_flight == {"127.0.0.1": 1}
    pages = stat(one.stderr, "response_received_count")
    assert pages > 20 and stat(one.stderr, "politeness/granted") >= pages
    assert "Host budget: 1 at once per host, in this process" in one.stderr


def test_processes_sharing_a_redis_share_the_budget(tmp_path, make_sample_site, redis_url):
    site = make_sample_site(books=10, latency=0.02, record_hosts=True)
    shared = f"HOST_BUDGET_REDIS_URL={redis_url}"
    runs = [
        threading.Thread(target=crawl, args=(tmp_path / f"p{i}", site.url, shared, *extra))
        for i, extra in enumerate([("HOST_CONCURRENCY=1",), ("HOST_CONCURRENCY=1",)])
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(120)
    assert site.recorder.max_in_flight == {"127.0.0.1": 1}
    assert site.recorder.requests["127.0.0.1"] > 25  # both crawled everything

    site = make_sample_site(books=8, record_hosts=True)
    rate = [
        threading.Thread(target=crawl, args=(tmp_path / f"r{i}", site.url, shared, "HOST_RATE=8"))
        for i in range(2)
    ]
    for run in rate:
        run.start()
    for run in rate:
        run.join(120)
    times = sorted(site.recorder.times["127.0.0.1"])
    per_second = (len(times) - 1) / (times[-1] - times[0])
    assert per_second <= 8 * 1.15, per_second  # two processes, one rate between them
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert sorted(gaps)[len(gaps) // 10] > 0.08  # spaced, not in bursts (1/8 s apart)


def test_a_429_pauses_its_host_for_everyone(tmp_path):
    budget = LocalBudget()
    crawler = get_crawler(settings_dict={"HOST_CONCURRENCY": 4, "HOST_BUDGET_SLOW_MAX": 5})
    downloader = BudgetedDownloader(crawler)
    downloader.budget = budget
    request = Request("http://slow.example/a")
    asked = HtmlResponse(request.url, status=429, headers={"Retry-After": "3"}, request=request)
    downloader._read_answer(request, asked)
    grant = budget.take("slow.example", Limits(concurrency=4))
    assert grant.lease is None and grant.why == "slowed" and 2.5 < grant.wait <= 3
    unbounded = HtmlResponse(request.url, status=503, headers={"Retry-After": "3600"})
    downloader._read_answer(Request("http://slower.example/"), unbounded)
    assert budget.take("slower.example", Limits(concurrency=4)).wait <= 5  # HOST_BUDGET_SLOW_MAX
    fine = HtmlResponse(request.url, status=200)
    downloader._read_answer(Request("http://fine.example/"), fine)
    assert budget.take("fine.example", Limits(concurrency=4)).lease is not None


def test_a_redis_that_cannot_be_reached_leaves_the_budget_in_the_process(
    tmp_path, make_sample_site
):
    from tests.net import free_port

    site = make_sample_site(books=10, latency=0.02, record_hosts=True)
    away = f"HOST_BUDGET_REDIS_URL=redis://127.0.0.1:{free_port()}/0"
    proc = crawl(tmp_path, site.url, away, "HOST_CONCURRENCY=1")
    assert site.recorder.max_in_flight == {"127.0.0.1": 1}  # still one at a time
    assert stat(proc.stderr, "politeness/shared_lost") == 1
    assert proc.stderr.count("The shared host budget cannot be reached") == 1
    assert "Traceback" not in proc.stderr
