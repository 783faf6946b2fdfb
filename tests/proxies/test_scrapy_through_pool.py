"""A real Scrapy crawl whose requests go through proxies the embedded pool hands out (with
credentials, through Scrapy's own HttpProxyMiddleware), reporting outcomes back to the pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from proxies.checker import apply_results
from proxies.model import Proxy
from proxies.pool_store import EmbeddedStore
from proxies.scoring import INITIAL_SCORE, ScoringPolicy
from proxies.validator import Validator
from tests.proxies.fleet import FleetProcess

ROOT = Path(__file__).resolve().parents[2]

CRAWL = textwrap.dedent(
    """
    import json, sys
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from proxies.model import Outcome
    from proxies.pool import EmbeddedProxyPool

    db, judge, out = sys.argv[1], sys.argv[2], sys.argv[3]
    pool = EmbeddedProxyPool.from_settings({"PROXY_POOL_STORE": f"sqlite:///{db}", "PROXY_POOL_PAID": True})
    seen = []

    class Judge(scrapy.Spider):
        name = "judge"

        async def start(self):
            for i in range(12):
                proxy = pool.get("127.0.0.1")
                yield scrapy.Request(f"{judge}?n={i}", meta={"proxy": proxy.url, "pool_proxy": proxy},
                                     dont_filter=True, errback=self.failed)

        def parse(self, response):
            pool.report(response.meta["pool_proxy"], Outcome.SUCCESS, domain="127.0.0.1",
                        latency=response.meta.get("download_latency"))
            seen.append(json.loads(response.text)["remote_addr"])

        def failed(self, failure):
            pool.report(failure.request.meta["pool_proxy"], Outcome.FAILURE, domain="127.0.0.1")

    process = CrawlerProcess({"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": False})
    process.crawl(Judge)
    process.start()
    pool.close()
    with open(out, "w") as f:
        json.dump(seen, f)
    """
)


def test_scrapy_crawls_through_paid_pool_proxies(fleet: FleetProcess, tmp_path: Path) -> None:
    specs = [s for s in fleet.fleet.specs if s.auth and s.kind == "elite"][:4]
    paid = [
        Proxy(
            "127.0.0.1", s.port, username=s.auth[0], password=s.auth[1], paid=True, source="vendor"
        )
        for s in specs
    ]
    free = [s.proxy() for s in fleet.fleet.specs if not s.auth and s.kind == "elite"][:4]
    db = tmp_path / "proxies.db"
    store = EmbeddedStore(db)
    store.add(paid + free)
    apply_results(store, ScoringPolicy(), Validator(fleet.judge.url, timeout=2).run(paid + free))
    store.close()

    out = tmp_path / "seen.json"
    res = subprocess.run(
        [sys.executable, "-c", CRAWL, str(db), fleet.judge.url, str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    seen = json.loads(out.read_text())
    assert len(seen) == 12
    paid_addresses = {s.source_ip for s in specs}
    assert set(seen) <= paid_addresses  # paid only, as the setting asked
    assert len(set(seen)) >= 2  # spread over the best
    for secret in (s.auth[1] for s in specs):
        assert secret not in res.stderr and secret not in res.stdout
    after = EmbeddedStore(db)
    used = [after.get(p.key) for p in paid]
    assert sum(r.successes for r in used) == 12
    assert all(r.domain_scores.get("127.0.0.1", INITIAL_SCORE) >= INITIAL_SCORE for r in used)
    assert all(after.get(p.key).successes == 0 for p in free)
