"""`scrapy rules new` on real sites of the corpus, then the drafted rule crawled with no edits:
every post reached, its title and date exact (benchmarks/bench_drafts.py measures all six sites
and the body too). Two sites that caught the drafting out before: a Chinese Hexo blog with date
permalinks, and a WordPress news site whose widgets (88 monthly archives, menus, a tag cloud)
outnumber its posts and whose next link reads "Older Older Posts" to a screen reader."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from crawler.store import open_store
from tests.corpus.server import SITES, serve_corpus
from tests.crawler.crawl import scrapy, store_args


@pytest.mark.parametrize("site", ["hexo-ifyour", "wordpress-pirata"])
def test_a_drafted_rule_reaches_every_post_with_its_title_and_date(site, tmp_path):
    expected = json.loads((SITES / site / "expected.json").read_text(encoding="utf-8"))
    rules = tmp_path / "rules"
    env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
    with serve_corpus() as bases:
        drafted = scrapy("rules", "new", site, bases[site] + expected["start"], "-s",
                         f"RULES_DIR={rules}", env=env)  # fmt: skip
        assert drafted.returncode == 0, drafted.stdout + drafted.stderr[-2000:]
        settings = [
            *store_args(tmp_path),
            "-s",
            f"RULES_DIR={rules}",
            "-s",
            "INCREMENTAL_STATE_URI=",
        ]
        crawled = scrapy("crawl", site, *settings, env=env, timeout=180)
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        items = {unquote(urlsplit(doc["_url"]).path): doc for doc in store.find(site)}
    details = expected["details"]
    assert set(details) <= set(items), drafted.stdout
    for path, want in details.items():
        got = items[path]
        assert " ".join(got["title"].split()) == " ".join(want["title"].split()), path
        assert str(got["published"]).startswith(want["published"]), path
        assert len(got["body"]) > 0.5 * len(want["body"]), path


def test_the_drafts_decisions_say_why(tmp_path):
    site = "wordpress-pirata"
    expected = json.loads((SITES / site / "expected.json").read_text(encoding="utf-8"))
    with serve_corpus() as bases:
        drafted = scrapy("rules", "new", site, bases[site] + expected["start"], "-s",
                         f"RULES_DIR={Path(tmp_path) / 'rules'}")  # fmt: skip
    assert drafted.returncode == 0, drafted.stderr[-2000:]
    lines = drafted.stdout.splitlines()
    links = next(line for line in lines if line.startswith("  links: "))
    assert "entry-title a" in links
    rejected = next(line for line in lines if line.startswith("  rejected: "))
    # the runner-up: the same posts' date links, with shorter texts
    assert "entry-date a" in rejected and "score" in rejected and "against" in rejected
    assert any(line.startswith("  next page: css a.next") for line in lines)
