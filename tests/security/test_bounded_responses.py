"""Responses are bounded: a gzip bomb and a 50 MB page are refused as errors with their reason
(``too_large``), never items, and the crawl's peak memory stays under 300 MB; a redirect to
``file:`` is not followed; user info in a URL never reaches the Host header."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crawler.crawl import ROOT
from tests.net import free_port, wait_for_port

RULE = """\
args: {site: null}
start:
  - urls: ["{site}/bomb", "{site}/big", "{site}/ok", "{site}/to-file"]
    page: page
pages:
  page:
    fields: {title: {css: "title::text"}, size: {xpath: "string-length(//body)"}}
"""


@pytest.fixture
def hostile_site():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.security.hostile_site", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, timeout=60, process=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bombs_and_huge_pages_are_errors_not_items_and_memory_stays_bounded(
    hostile_site, tmp_path: Path
):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "hostile.yaml").write_text(RULE)
    out = tmp_path / "items.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.security.measured",
            "crawl",
            "hostile",
            "-a",
            f"site={hostile_site}",
            "-O",
            str(out),
            "-s",
            f"RULES_DIR={rules}",
            "-s",
            f"STORE_URI=sqlite:///{tmp_path / 'store.db'}",
            "-s",
            f"STORE_SPILL_DIR={tmp_path / 'spill'}",
            "-s",
            "LOG_LEVEL=INFO",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    log = proc.stderr
    assert "Traceback" not in log
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(i["title"], i["_url"]) for i in items] == [("fine", f"{hostile_site}/ok")]
    stats = re.search(r"'rule/request_errors/too_large': (\d+)", log)
    assert stats and int(stats.group(1)) == 2, log[-4000:]
    assert "'rule/request_errors/http_302': 1" in log  # the redirect to file: is not followed
    peak = float(re.search(r"MAXRSS_MB=([\d.]+)", log).group(1))
    assert peak < 300, f"peak RSS {peak} MB"
    print(f"gzip bomb and 50 MB page: 2 errors (too_large), 1 item; crawl peak RSS {peak} MB")


def test_userinfo_never_reaches_the_host_header(hostile_site, tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    port = hostile_site.rsplit(":", 1)[1]
    (rules / "trick.yaml").write_text(
        f"start: [{{url: 'http://evil.invalid@127.0.0.1:{port}/host', page: p}}]\n"
        "pages: {p: {fields: {title: {css: 'title::text'}}}}\n"
    )
    out = tmp_path / "items.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "crawl",
            "trick",
            "-O",
            str(out),
            "-s",
            f"RULES_DIR={rules}",
            "-s",
            "STORE_URI=",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert [i["title"] for i in items] == [f"host=127.0.0.1:{port}"]
    assert "evil.invalid" not in items[0]["_url"]


def test_the_url_guard_refuses_other_schemes_and_strips_user_info():
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Request
    from scrapy.utils.test import get_crawler

    from crawler.spider.project import parse_rule
    from crawler.spider.rule_spider import RuleSpider
    from crawler.spider.url_guard import SafeUrlMiddleware
    from tests.settings import project_settings

    rule = parse_rule(
        "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: a}}}}"
    )
    crawler = get_crawler(RuleSpider.for_rule(rule), project_settings())
    crawler.spider = crawler.spidercls.from_crawler(crawler)
    middleware = SafeUrlMiddleware.from_crawler(crawler)

    def guard(request):
        # A coroutine when the host's address must be looked up first (x.test resolves to
        # nothing: not refused, nothing can reach it).
        out = middleware.process_request(request)
        return asyncio.run(out) if inspect.iscoroutine(out) else out

    for url in ("file:///etc/passwd", "data:,x", "ftp://h/x", "s3://b/k"):
        with pytest.raises(IgnoreRequest):
            guard(Request(url))
    cleaned = guard(Request("http://u:p@x.test/a?b=1"))
    assert cleaned.url == "http://x.test/a?b=1"
    assert guard(Request("https://x.test/")) is None
    with pytest.raises(IgnoreRequest):  # another service on this machine
        guard(Request("http://127.0.0.1:8001/admin"))
    assert crawler.stats.get_value("rule/refused/private_address") == 1
    assert crawler.stats.get_value("rule/refused/scheme_file") == 1
    assert crawler.stats.get_value("rule/refused/userinfo") == 1
