"""The files pipeline's own refusals, without a download: links beyond the field's count and
links that are not http(s) become records with their reason, counted and logged once."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawler.files.pipeline import FilesPipeline
from crawler.files.policy import FileLimits
from crawler.files.store import DirectoryFileStore
from crawler.files.text import TextLimits

LIMITS = FileLimits(
    default_bytes=1000,
    limit_bytes=2000,
    per_item=2,
    unzip_bytes=10_000,
    unzip_ratio=100.0,
    unzip_members=10,
    text=TextLimits(max_chars=100, max_pages=1, max_rows=10),
    memo=0,
)


def test_links_beyond_the_count_and_other_schemes_are_refused_and_counted(tmp_path, caplog):
    crawler = SimpleNamespace(stats=MemoryStatsCollector(SimpleNamespace(settings=Settings())))
    crawler.spider = None
    crawler.engine = None  # nothing may be downloaded here
    pipeline = FilesPipeline(crawler, DirectoryFileStore(tmp_path), LIMITS)
    item = {
        "title": "t",
        "files": ["ftp://x.test/a.pdf", "file:///etc/passwd", "http://x.test/c.pdf"],
        "_files": {"files": {"types": ["pdf"], "max_files": 5}},  # capped by FILES_PER_ITEM
        "_url": "http://x.test/",
    }
    with caplog.at_level(logging.INFO, logger="crawler.files.pipeline"):
        out = asyncio.run(pipeline.process_item(item))
    assert "_files" not in out
    assert [(r["name"], r["error"]) for r in out["files"]] == [
        ("a.pdf", "scheme"),
        ("passwd", "scheme"),
        ("c.pdf", "too_many"),
    ]
    stats = crawler.stats.get_stats()
    assert stats["files/refused"] == 3 and stats["files/refused/scheme"] == 2
    assert stats["files/refused/too_many"] == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # the first of each reason; the second scheme refusal at INFO
    assert list(tmp_path.iterdir()) == []
    assert asyncio.run(pipeline.process_item({"title": "no files"})) == {"title": "no files"}
