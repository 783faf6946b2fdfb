"""A crawl's log read as records (crawler/runs/logview.py): Scrapy's start-up dump told by its
messages, continuation lines joined to their record, level and text filters, and pages read in
bounded steps that join up to the whole log; and a real crawl's log read the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.runs.logview import (
    QUERY_MAX,
    level_rank,
    needle_of,
    parse,
    passes,
    read_page,
    text_of,
)
from tests.crawler.crawl import crawl

# A crawl's log as Scrapy writes it (LOG_FORMAT "%(asctime)s [%(name)s] %(levelname)s:
# %(message)s"), shortened: the start-up dump with its multi-line lists, a warning among it, the
# crawl, a spider error with its traceback, the stats dump.
LOG = """\
2026-03-02 09:15:01 [scrapy.utils.log] INFO: Scrapy 2.13.3 started (bot: crawler)
2026-03-02 09:15:01 [scrapy.utils.log] INFO: Versions:
{'lxml': '6.0.0',
 'Twisted': '25.5.0',
 'Python': '3.11.7 (main, May  9 2025, 07:35:25) [GCC 12.2.0]'}
2026-03-02 09:15:01 [scrapy.addons] INFO: Enabled addons:
[]
2026-03-02 09:15:01 [crawler.runs.runlog] INFO: This crawl's log is kept in /tmp/logs/books-1.log
2026-03-02 09:15:01 [crawler.core.switches] INFO: Push is off: no push sink configured
2026-03-02 09:15:01 [scrapy.middleware] INFO: Enabled extensions:
['scrapy.extensions.corestats.CoreStats',
 'scrapy.extensions.logstats.LogStats',
 'crawler.runs.recorder.RunRecorder']
2026-03-02 09:15:01 [scrapy.crawler] INFO: Overridden settings:
{'BOT_NAME': 'crawler', 'LOG_LEVEL': 'INFO'}
2026-03-02 09:15:01 [py.warnings] WARNING: /venv/lib/scrapy/x.py:12: ScrapyDeprecationWarning: old
  warnings.warn(
2026-03-02 09:15:02 [scrapy.middleware] INFO: Enabled downloader middlewares:
['scrapy.downloadermiddlewares.offsite.OffsiteMiddleware',
 'scrapy.downloadermiddlewares.retry.RetryMiddleware']
2026-03-02 09:15:02 [scrapy.middleware] INFO: Enabled spider middlewares:
['scrapy.spidermiddlewares.depth.DepthMiddleware']
2026-03-02 09:15:02 [scrapy.middleware] INFO: Enabled item pipelines:
['crawler.store.store_pipeline.StorePipeline']
2026-03-02 09:15:02 [scrapy.core.engine] INFO: Spider opened
2026-03-02 09:15:02 [scrapy.extensions.logstats] INFO: Crawled 0 pages (at 0 pages/min), scraped 0 items (at 0 items/min)
2026-03-02 09:15:03 [books] WARNING: request:http_404: request failed (HTTP 404) for http://127.0.0.1:8000/book/9.html
2026-03-02 09:15:03 [scrapy.core.scraper] ERROR: Spider error processing <GET http://127.0.0.1:8000/book/3.html> (referer: None)
Traceback (most recent call last):
  File "/venv/lib/scrapy/utils/defer.py", line 327, in iter_errback
    yield next(it)
ValueError: price 'N/A' is not a number
2026-03-02 09:15:04 [crawler.runs.progress] INFO: Progress: 12 pages (24.0/min), 6 items (12.0/min), 1 errors (0 failed requests), 0 bans
2026-03-02 09:15:05 [scrapy.core.engine] INFO: Closing spider (finished)
2026-03-02 09:15:05 [scrapy.statscollectors] INFO: Dumping Scrapy stats:
{'downloader/request_count': 13,
 'finish_reason': 'finished',
 'log_count/ERROR': 1}
2026-03-02 09:15:05 [scrapy.core.engine] INFO: Spider closed (finished)
"""
DATA = LOG.encode()
STARTUP = [
    "Scrapy 2.13.3 started (bot: crawler)",
    "Versions:",
    "Enabled addons:",
    "This crawl's log is kept in /tmp/logs/books-1.log",
    "Push is off: no push sink configured",
    "Enabled extensions:",
    "Overridden settings:",
    "Enabled downloader middlewares:",
    "Enabled spider middlewares:",
    "Enabled item pipelines:",
]


class BytesSource:
    """A log in memory, read as the service reads a file; counts the bytes read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.bytes_read = 0

    def read(self, offset: int, size: int) -> tuple[bytes, int]:
        piece = self.data[offset : offset + size]
        self.bytes_read += len(piece)
        return piece, len(self.data)


def headers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("2026-")]


def test_records_with_their_continuation_lines_and_offsets() -> None:
    records = parse(DATA)
    assert len(records) == len(headers(LOG))
    for record, line in zip(records, headers(LOG), strict=True):
        assert DATA[record.offset :].decode().startswith(line)
        assert DATA[record.offset : record.end].decode() == record.text
    assert text_of(records) == LOG  # nothing lost, nothing added
    first = records[0]
    assert (first.time, first.logger, first.level) == (
        "2026-03-02 09:15:01",
        "scrapy.utils.log",
        "INFO",
    )
    assert first.message == "Scrapy 2.13.3 started (bot: crawler)"
    extensions = next(r for r in records if r.message.startswith("Enabled extensions:"))
    assert extensions.message.splitlines() == [
        "Enabled extensions:",
        "['scrapy.extensions.corestats.CoreStats',",
        " 'scrapy.extensions.logstats.LogStats',",
        " 'crawler.runs.recorder.RunRecorder']",
    ]
    # a traceback has no header of its own: it belongs to the ERROR before it
    error = next(r for r in records if r.level == "ERROR")
    assert error.logger == "scrapy.core.scraper"
    assert error.message.endswith("ValueError: price 'N/A' is not a number")
    assert "Traceback (most recent call last):" in error.message
    assert error.as_dict() == {
        "offset": error.offset,
        "time": "2026-03-02 09:15:03",
        "level": "ERROR",
        "logger": "scrapy.core.scraper",
        "message": error.message,
        "startup": False,
        "source": None,  # a line of one crawl's own log (a merged log's lines name their worker)
    }


def test_the_start_up_dump_is_told_by_its_messages() -> None:
    records = parse(DATA)
    assert [r.message.splitlines()[0] for r in records if r.startup] == STARTUP
    # a warning among the dump is not folded away with it
    warning = next(r for r in records if r.logger == "py.warnings")
    assert not warning.startup and warning.message.endswith("  warnings.warn(")
    assert not any(r.startup for r in records[records.index(warning) + 5 :])
    # after the spider opened, the same words are not the dump any more
    late = LOG + "2026-03-02 09:15:06 [scrapy.middleware] INFO: Enabled extensions:\n[]\n"
    assert not parse(late.encode())[-1].startup
    # another crawl's log appended to the same file has its own dump
    again = parse(DATA + DATA)
    assert [r.startup for r in again] == [r.startup for r in parse(DATA)] * 2
    # nor by position: a log without those messages has no start-up records
    plain = "2026-03-02 09:15:01 [books] INFO: hello\n2026-03-02 09:15:01 [x] INFO: Versions:\n"
    assert not any(r.startup for r in parse(plain.encode()))


def test_lines_without_a_header_and_other_line_ends() -> None:
    text = (
        b"Unhandled error in Deferred:\r\n"
        b"Traceback (most recent call last):\r\n"
        b"[books] INFO: no time in this format\r\n"
        b"2026-03-02 09:15:01,123 [a.b] CRITICAL: done\xff\r\n"
        b"2026-03-02 09:15:01 [a.b] NOTICE: not a level we know\n"
    )
    first, second, third = parse(text)
    assert (first.level, first.logger, first.time) == (None, None, None)
    assert first.message == "Unhandled error in Deferred:\nTraceback (most recent call last):"
    assert (second.level, second.logger, second.time) == ("INFO", "books", None)
    assert (third.time, third.level) == ("2026-03-02 09:15:01,123", "CRITICAL")
    assert third.message == "done\ufffd\n2026-03-02 09:15:01 [a.b] NOTICE: not a level we know"
    assert parse(b"") == []


def test_filters_by_level_and_by_plain_text_whatever_the_case() -> None:
    records = parse(DATA)
    assert [level_rank(n) for n in ("debug", "Info", "WARNING", "error", "critical")] == [
        10,
        20,
        30,
        40,
        50,
    ]
    with pytest.raises(ValueError, match="unknown log level 'verbose'"):
        level_rank("verbose")
    warned = [r for r in records if passes(r, minimum=level_rank("WARNING"))]
    assert [r.level for r in warned] == ["WARNING", "WARNING", "ERROR"]
    assert [r.level for r in records if passes(r, minimum=level_rank("ERROR"))] == ["ERROR"]
    assert len([r for r in records if passes(r)]) == len(records)
    found = [r for r in records if passes(r, needle=needle_of("SPIDER OPENED"))]
    assert [r.message for r in found] == ["Spider opened"]
    # found in the continuation lines and in the logger's name too
    assert [r.level for r in records if passes(r, needle=needle_of("is NOT a number"))] == ["ERROR"]
    assert len([r for r in records if passes(r, needle=needle_of("py.warnings"))]) == 1
    # a query is text, never a pattern
    assert [r for r in records if passes(r, needle=needle_of(".*"))] == []
    assert len([r for r in records if passes(r, needle=needle_of("(bot: crawler)"))]) == 1
    both = [r for r in records if passes(r, level_rank("warning"), needle_of("http_404"))]
    assert [r.logger for r in both] == ["books"]
    assert needle_of("x" * QUERY_MAX) == "x" * QUERY_MAX
    with pytest.raises(ValueError, match="at most 200"):
        needle_of("x" * (QUERY_MAX + 1))
    # a record without a level is left out by any minimum
    (headless,) = parse(b"Traceback (most recent call last):\n")
    assert passes(headless) and not passes(headless, minimum=level_rank("DEBUG"))


def pages(source: BytesSource, chunk: int, **filters) -> list[tuple[int, list]]:
    """Every page from the start: (offset asked, records)."""
    out, offset = [], 0
    for _ in range(1000):
        page = read_page(source, offset, chunk, **filters)
        assert page.size == len(source.data)
        out.append((offset, page.records))
        if page.offset == offset:
            return out
        assert page.offset > offset
        offset = page.offset
    raise AssertionError("the pages never reached the end")


@pytest.mark.parametrize("chunk", [64, 200, 1024, 1 << 16])
def test_pages_join_up_to_the_whole_log(chunk: int) -> None:
    whole = parse(DATA)
    source = BytesSource(DATA)
    read = [r for _, records in pages(source, chunk) for r in records]
    assert [r.as_dict() for r in read] == [r.as_dict() for r in whole]
    # a page ends where a record starts: none is cut, however small the chunk
    assert [r.text for r in read] == [r.text for r in whole]


def test_an_unfiltered_page_is_one_chunk_of_whole_records() -> None:
    source = BytesSource(DATA)
    page = read_page(source, 0, 300)
    assert page.records and page.offset <= 300
    assert page.offset == page.records[-1].end
    assert DATA[page.offset :].startswith(b"2026-")  # the next record starts there
    assert source.bytes_read <= 300


def test_a_filtered_read_scans_a_bounded_number_of_chunks() -> None:
    noise = "".join(f"2026-03-02 09:15:0{i % 10} [books] INFO: page {i}\n" for i in range(2000))
    data = (noise + "2026-03-02 09:16:00 [books] ERROR: the one error\n").encode()
    source = BytesSource(data)
    minimum = level_rank("ERROR")
    first = read_page(source, 0, 1024, minimum=minimum, scan_chunks=4)
    assert first.records == [] and 0 < first.offset <= 4 * 1024
    assert source.bytes_read <= 4 * 1024  # then it answers where it stopped
    found = [r for _, records in pages(BytesSource(data), 1024, minimum=minimum) for r in records]
    assert [r.message for r in found] == ["the one error"]
    assert data[found[0].offset :].startswith(b"2026-03-02 09:16:00 [books] ERROR")
    # filtered pages join up to the filtered log
    needle = needle_of("page 19")
    paged = [r for _, rs in pages(BytesSource(data), 512, needle=needle) for r in rs]
    assert paged == [r for r in parse(data) if passes(r, needle=needle)]
    assert len(paged) == 111  # page 19, 190-199, 1900-1999


def test_a_record_longer_than_a_chunk_is_read_whole() -> None:
    stats = "".join(f" 'counter/{i}': {i},\n" for i in range(100))
    text = (
        f"2026-03-02 09:15:05 [scrapy.statscollectors] INFO: Dumping Scrapy stats:\n{{{stats}}}\n"
    )
    data = (text + "2026-03-02 09:15:05 [scrapy.core.engine] INFO: Spider closed\n").encode()
    assert len(text) > 1024
    read = [r for _, records in pages(BytesSource(data), 1024) for r in records]
    assert [r.text for r in read] == [r.text for r in parse(data)]
    assert len(read) == 2


def test_offsets_in_the_middle_of_a_line_or_past_the_end() -> None:
    source = BytesSource(DATA)
    inside = DATA.index(b"Spider opened")  # the middle of the "Spider opened" line
    page = read_page(source, inside, 1 << 16)
    assert page.records[0].message.startswith("Crawled 0 pages")
    at_start = DATA.index(b"2026-03-02 09:15:02 [scrapy.core.engine] INFO: Spider opened")
    assert read_page(source, at_start, 1 << 16).records[0].message == "Spider opened"
    end = read_page(source, len(DATA), 1024)
    assert (end.records, end.offset, end.size) == ([], len(DATA), len(DATA))
    past = read_page(source, len(DATA) + 50, 1024)
    assert (past.records, past.offset) == ([], len(DATA) + 50)


def test_a_growing_log_is_read_on_from_where_the_last_page_ended() -> None:
    source = BytesSource(b"")
    page = read_page(source, 0, 1024)
    assert (page.records, page.offset, page.size) == ([], 0, 0)
    source.data = DATA[: DATA.index(b"2026-03-02 09:15:02 [scrapy.core.engine]")]
    page = read_page(source, 0, 1 << 16)
    assert [r.message.splitlines()[0] for r in page.records if r.startup] == STARTUP
    source.data = DATA
    rest = read_page(source, page.offset, 1 << 16)
    assert rest.records[0].message == "Spider opened" and rest.offset == len(DATA)
    assert page.records + rest.records == parse(DATA)


def test_a_real_crawls_log(tmp_path: Path, sample_site: str) -> None:
    run = crawl("sample_books", tmp_path, site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    (log_file,) = (tmp_path / "logs").glob("*.log")
    data = log_file.read_bytes()
    records = parse(data)
    assert text_of(records) == data.decode("utf-8", "replace")
    header_lines = [line for line in data.decode().splitlines() if line[:4].isdigit()]
    assert len(records) == len(header_lines) and all(r.level for r in records)
    opened = next(i for i, r in enumerate(records) if r.message == "Spider opened")
    startup = [r for r in records if r.startup]
    messages = {r.message.splitlines()[0] for r in startup}
    assert {"Enabled extensions:", "Enabled item pipelines:", "Overridden settings:"} <= messages
    assert all(records.index(r) < opened for r in startup)
    extensions = next(r for r in startup if r.message.startswith("Enabled extensions:"))
    assert "'crawler.runs.recorder.RunRecorder'" in extensions.message
    assert len(extensions.message.splitlines()) > 3
    warnings = [r for r in records if passes(r, minimum=level_rank("WARNING"))]
    assert warnings and {r.level for r in warnings} <= {"WARNING", "ERROR", "CRITICAL"}
    assert records[-1].message.startswith("Spider closed (finished)")
    paged = [r for _, rs in pages(BytesSource(data), 1024) for r in rs]
    assert paged == records


def test_a_distributed_runs_merged_log_is_read_worker_by_worker():
    """The data service merges a distributed run's workers' logs into one, each line prefixed
    ``[node worker]`` (crawler/nodes/fleet_runs.py): each record keeps its worker as its source,
    each worker's start-up dump is its own, and a search finds a worker by its name."""
    merged = (
        b"[n1 run.1] 2026-01-01 10:00:00 [scrapy.utils.log] INFO: Scrapy 2.19.0 started (bot: crawler)\n"
        b"[n1 run.1] 2026-01-01 10:00:01 [scrapy.core.engine] INFO: Spider opened\n"
        b"[n2 run.2] 2026-01-01 10:00:01 [scrapy.utils.log] INFO: Scrapy 2.19.0 started (bot: crawler)\n"
        b"[n1 run.1] 2026-01-01 10:00:02 [books] WARNING: no price on http://x/1\n"
        b"[n2 run.2] 2026-01-01 10:00:02 [scrapy.middleware] INFO: Enabled extensions:\n"
        b"[n2 run.2] ['crawler.runs.runlog.RunLog',\n"
        b"[n2 run.2]  'crawler.runs.progress.Progress']\n"
        b"[n2 run.2] 2026-01-01 10:00:03 [scrapy.core.engine] INFO: Spider opened\n"
    )
    records = parse(merged)
    assert [(r.source, r.logger, r.startup) for r in records] == [
        ("n1 run.1", "scrapy.utils.log", True),
        ("n1 run.1", "scrapy.core.engine", False),
        ("n2 run.2", "scrapy.utils.log", True),
        ("n1 run.1", "books", False),
        ("n2 run.2", "scrapy.middleware", True),
        ("n2 run.2", "scrapy.core.engine", False),
    ]
    assert records[4].message.splitlines() == [
        "Enabled extensions:",
        "['crawler.runs.runlog.RunLog',",
        " 'crawler.runs.progress.Progress']",
    ]
    assert [r.message for r in records if passes(r, minimum=level_rank("WARNING"))] == [
        "no price on http://x/1"
    ]
    assert [r.logger for r in records if passes(r, needle=needle_of("N2 RUN.2"))] == [
        "scrapy.utils.log",
        "scrapy.middleware",
        "scrapy.core.engine",
    ]
    assert records[3].as_dict()["source"] == "n1 run.1"
