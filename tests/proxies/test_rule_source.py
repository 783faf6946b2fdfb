"""A free-proxy site as a rule: `scrapy proxies fetch` crawls it and the pool keeps its proxies."""

from __future__ import annotations

import json

from proxies.pool_store import store_from_uri
from tests.crawler.crawl import scrapy
from tests.sample_site.data import FREE_PROXIES


def test_fetch_crawls_a_rule_source_into_the_pool(sample_site, tmp_path):
    sources = [
        {"name": "sample-free", "rule": "sample_free_proxies", "args": {"site": sample_site}}
    ]
    store_uri = f"sqlite:///{tmp_path / 'proxies.db'}"
    proc = scrapy(
        "proxies",
        "fetch",
        "--no-progress",
        "-s",
        f"PROXY_POOL_STORE={store_uri}",
        "-s",
        f"PROXY_POOL_SOURCES={json.dumps(sources)}",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = store_from_uri(store_uri).all()
    got = {(r.proxy.host, r.proxy.port, r.proxy.source) for r in records}
    assert got == {(p.host, p.port, "sample-free") for p in FREE_PROXIES}


def test_a_failing_rule_source_is_reported_not_fatal(tmp_path):
    sources = [{"name": "broken", "rule": "no_such_rule"}]
    proc = scrapy(
        "proxies",
        "fetch",
        "--no-progress",
        "-s",
        f"PROXY_POOL_STORE=sqlite:///{tmp_path / 'p.db'}",
        "-s",
        f"PROXY_POOL_SOURCES={json.dumps(sources)}",
    )
    assert "no_such_rule" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
