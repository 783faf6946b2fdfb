"""``scrapy crawl`` of the sample site's security blog with the platform's defaults: articles
about captchas and blocking that show captcha images (and a comment form with one) are content.
Every article is stored, nothing is banned or retried, and the crawl takes seconds, not the
minute five back-offs would (2 + 4 + 8 + 16 + 32 s). The one short note, shaped like a wall, is
kept because its page type finds its required fields in it."""

from __future__ import annotations

import time

from crawler.store.sqlite import SqliteStore
from tests.crawler.crawl import crawl, stat
from tests.crawler.render.support import rules_dir
from tests.sample_site.security import ARTICLES, NOTE, article_text

RULE = r"""
name: security_blog
args: {site: null}
start:
  - {url: "{site}/security/", page: index}
pages:
  index:
    links:
      - {css: "ul.posts a", to: article}
  article:
    match: /security/[a-z0-9-]+\.html$
    fields:
      title: {css: "article h1::text", required: true}
      published: {css: "article time::attr(datetime)"}
      body: {css: "article div.entry-content", text: true, required: true, clean: [collapse_whitespace]}
"""


def test_articles_about_captchas_are_stored_without_a_ban_or_a_back_off(tmp_path, sample_site):
    rules = rules_dir(tmp_path, security_blog=RULE)
    started = time.monotonic()
    run = crawl("security_blog", tmp_path, "-s", f"RULES_DIR={rules}", site=sample_site)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.log[-3000:]
    assert stat(run.log, "antiban/bans") == 0
    assert stat(run.log, "antiban/retries/count") == 0
    # The note alone is shaped like a wall; its page type's title and body make it content.
    assert stat(run.log, "antiban/overruled") == stat(run.log, "antiban/overruled/marker") == 1
    assert f"not a ban: marker (marker) on {sample_site}{NOTE.url}" in run.log
    expected = {a.title: article_text(a) for a in ARTICLES}
    assert {item["title"]: item["body"] for item in run.items} == expected
    with SqliteStore(run.store_uri) as store:
        assert store.count("security_blog") == len(ARTICLES)
        [record] = store.runs("security_blog")
    assert record["status"] == "finished" and record["bans"] == 0
    assert elapsed < 40, f"the crawl took {elapsed:.0f}s: something backed off"


def test_a_bad_challenge_pattern_refuses_the_crawl_in_one_line(tmp_path, sample_site):
    rules = rules_dir(tmp_path, security_blog=RULE)
    bad = '{"inhouse": "(unclosed"}'
    run = crawl(
        "security_blog", tmp_path, "-s", f"RULES_DIR={rules}", "-s", f"BAN_CHALLENGE_MARKERS={bad}",
        site=sample_site,
    )  # fmt: skip
    assert run.returncode == 2, run.log[-2000:]  # usage_error
    assert "BAN_CHALLENGE_MARKERS['inhouse']: bad regular expression '(unclosed'" in run.log
    assert "Traceback" not in run.log and run.items == []
