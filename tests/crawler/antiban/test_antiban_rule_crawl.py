"""`scrapy crawl <rule>` configured by the rule's antiban: section alone, through real proxies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawler.crawl import crawl
from tests.sample_site import SampleSite
from tests.sample_site.antibot import antibot_middleware

from .support import TinyProxy, require_tinyproxy

RULE = """
name: antiban_books
args:
  site: http://127.0.0.1:8000
item:
  collection: antiban_books
start:
  - url: "{site}/book/{1..20}.html"
    page: book
pages:
  book:
    fields:
      title: {css: "div.product_main h1::text", required: true}
antiban:
  user_agent: {browsers: [chrome, firefox], platforms: [desktop], min_version: {chrome: 120}}
  proxies: {env: ANTIBAN_RULE_PROXIES, policy: lru, ban_backoff: 4, wait_max: 30}
  ban: {markers: ["Security check"], retries: 8, retry_delay: 0.2, retry_after_max: 0.5}
settings:
  CONCURRENT_REQUESTS: 4
  PROXY_WAIT_POLL: 0.2
"""


@pytest.mark.timeout(90)
def test_rule_antiban_section_drives_the_crawl(tmp_path: Path, monkeypatch):
    require_tinyproxy()
    user, password = "ruleuser", "rule-Pa55word"
    proxies = [
        TinyProxy(f"127.0.0.{n}", tmp_path, auth=(user, password)).start() for n in (2, 3, 4)
    ]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "antiban_books.yaml").write_text(RULE)
    bot = antibot_middleware(ip_limit=5, window=2.0, ban_seconds=4.0, captcha_every=7)
    monkeypatch.setenv("ANTIBAN_RULE_PROXIES", ",".join(p.url for p in proxies))
    try:
        with SampleSite(books=20, middlewares=[bot]) as site:
            run = crawl("antiban_books", tmp_path, "-s", f"RULES_DIR={rules}", site=site.url)
    finally:
        for p in proxies:
            p.stop()
    assert run.returncode == 0, run.log[-3000:]
    titles = {item["title"] for item in run.items}
    assert len(run.items) == 20 and "Security check" not in titles
    assert set(bot.state.by_ip) == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    # Every 7th request is a captcha unless an address ban answered it first: at least one.
    assert bot.state.captchas >= 1
    assert f"'antiban/bans/marker': {bot.state.captchas}," in run.log
    assert user not in run.log and password not in run.log
    agents = set(bot.state.by_ua)
    assert all("Chrome/" in ua or "Firefox/" in ua for ua in agents)
    assert not any("Mobile" in ua and "iPad" not in ua for ua in agents)
