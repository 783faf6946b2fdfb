"""A crawl's log read as records: each record's time, logger, level and message (continuation
lines joined to the record they continue; in a distributed run's merged log, the ``[node worker]``
its line came from: ``source``), the byte offset it starts at, whether it belongs to
Scrapy's start-up dump; filters by minimum level and by text; and pages of records read from
any source of bytes in bounded steps (the run page's log viewer, ``GET /api/runs/{id}/log``).

Lines follow Scrapy's ``LOG_FORMAT`` (``%(asctime)s [%(name)s] %(levelname)s: %(message)s``);
the time may be missing (a crawl whose format leaves it out). A line without that header
(a traceback, the rest of a pretty-printed dict) belongs to the record before it; lines before
any header make a record of their own, with no time, logger or level.

The start-up dump is told by its messages (Scrapy's "Scrapy 2.x started", "Versions:",
"Overridden settings:", "Enabled extensions:" and the like, and the platform's own "... is
off: ..." lines) up to the spider opening or the first crawl activity, never by position alone:
a log that does not start with them has no start-up records, and a warning there is never one.
A piece read from the middle of a log knows nothing of what came before it: there, those
messages are the dump wherever they stand (they are written nowhere else).

>>> text = (
...     "2026-01-01 10:00:00 [scrapy.utils.log] INFO: Scrapy 2.13.0 started (bot: crawler)\\n"
...     "2026-01-01 10:00:00 [scrapy.middleware] INFO: Enabled extensions:\\n"
...     "['scrapy.extensions.corestats.CoreStats',\\n"
...     " 'scrapy.extensions.logstats.LogStats']\\n"
...     "2026-01-01 10:00:01 [scrapy.core.engine] INFO: Spider opened\\n"
...     "2026-01-01 10:00:02 [books] ERROR: Spider error processing <GET http://x/>\\n"
...     "Traceback (most recent call last):\\n"
...     "ValueError: no price\\n"
... )
>>> records = parse(text.encode())
>>> [(r.level, r.logger, r.startup) for r in records]
[('INFO', 'scrapy.utils.log', True), ('INFO', 'scrapy.middleware', True), ('INFO', 'scrapy.core.engine', False), ('ERROR', 'books', False)]
>>> records[1].message.splitlines()[1:]
["['scrapy.extensions.corestats.CoreStats',", " 'scrapy.extensions.logstats.LogStats']"]
>>> records[3].offset, records[3].message.splitlines()[-1]
(291, 'ValueError: no price')
>>> [r.logger for r in records if passes(r, minimum=level_rank("warning"))]
['books']
>>> [r.logger for r in records if passes(r, needle=needle_of("SPIDER opened"))]
['scrapy.core.engine']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
QUERY_MAX = 200  # characters of a text search
SCAN_CHUNKS = 16  # chunks one filtered read may scan before answering with where it stopped

HEADER = re.compile(
    r"(?:\[(?P<source>[^\]\n]+)\] )?"  # "[node worker] ": a distributed run's merged log
    r"(?:(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?) )?"
    r"\[(?P<logger>[^\]\s]+)\] (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL): ?(?P<message>.*)",
    re.S,
)

# The start-up dump's messages, by logger: Scrapy's, then the platform's own (components
# that are off and why, where the run's log file is, the user-agent catalogue chosen).
STARTUP_MESSAGES: dict[str, re.Pattern[str]] = {
    "scrapy.utils.log": re.compile(
        r"Scrapy \S+ started|Versions:|Using reactor:|Using asyncio event loop:"
    ),
    "scrapy.addons": re.compile(r"Enabled addons:"),
    "scrapy.crawler": re.compile(r"Overridden settings:"),
    "scrapy.middleware": re.compile(
        r"Enabled (extensions|downloader middlewares|spider middlewares|item pipelines):"
    ),
    "scrapy.extensions.telnet": re.compile(r"Telnet (Password:|console listening on)"),
    "asyncio": re.compile(r"Using selector:"),
    "crawler.core.switches": re.compile(r"\S+ is off: "),
    "crawler.runs.runlog": re.compile(r"This crawl's log is kept in "),
    "crawler.antiban.useragent_middleware": re.compile(r"User agents: "),
}
BEGIN = re.compile(r"Scrapy \S+ started")  # where a crawl's log, and its dump, begins
# Where the dump ends: the spider opens, or the crawl shows any activity.
ACTIVITY_LOGGERS = ("scrapy.core.engine", "scrapy.core.scraper", "scrapy.extensions.logstats")


@dataclass(frozen=True)
class LogRecord:
    """One log record: ``text`` is as it stands in the file (header and continuation lines,
    line ends included), ``offset`` and ``end`` the bytes it spans."""

    offset: int
    end: int
    time: str | None
    logger: str | None
    level: str | None
    message: str
    text: str
    startup: bool = False
    source: str | None = None  # the worker a line of a distributed run's merged log came from

    def as_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "time": self.time,
            "level": self.level,
            "logger": self.logger,
            "message": self.message,
            "startup": self.startup,
            "source": self.source,
        }


def level_rank(name: str | None) -> int:
    """The rank of a minimum level given by name (any case); 0 (every record) for none or "".

    >>> level_rank("warning"), level_rank(None), level_rank("")
    (30, 0, 0)
    >>> level_rank("LOUD")
    Traceback (most recent call last):
    ...
    ValueError: unknown log level 'LOUD': one of DEBUG, INFO, WARNING, ERROR, CRITICAL
    """
    if not name:
        return 0
    rank = LEVELS.get(name.upper())
    if rank is None:
        raise ValueError(f"unknown log level {name!r}: one of {', '.join(LEVELS)}")
    return rank


def needle_of(query: str | None) -> str:
    """What a text search looks for: the query, case-folded, at most ``QUERY_MAX`` characters
    (longer is an error); "" for none. A plain substring, never a pattern.

    >>> needle_of("  Spider Opened "), needle_of(None), needle_of("a.*b")
    ('spider opened', '', 'a.*b')
    """
    if not query:
        return ""
    if len(query) > QUERY_MAX:
        raise ValueError(f"a search is at most {QUERY_MAX} characters")
    return query.strip().casefold()


def passes(record: LogRecord, minimum: int = 0, needle: str = "") -> bool:
    """Whether ``record`` is at ``minimum`` level or above (a record with no level only when
    there is no minimum) and holds ``needle`` (from :func:`needle_of`) in its logger name or
    message, whatever the case."""
    if minimum:
        rank = LEVELS.get(record.level or "", 0)
        if rank < minimum:
            return False
    if needle:
        haystack = f"{record.source or ''} {record.logger or ''} {record.message}".casefold()
        if needle not in haystack:
            return False
    return True


class LogParser:
    """Records of a log read in pieces: each piece starts at a record's first line (or at the
    start of the file). It remembers whether the start-up dump is over."""

    def __init__(self) -> None:
        # the crawls (by source: one per worker in a merged log) that opened their spider or
        # showed activity: their start-up dump is over
        self.started: set[str | None] = set()

    def parse(self, data: bytes, base: int = 0) -> list[LogRecord]:
        """The records of ``data``, whose first byte is at ``base`` in the file."""
        records: list[LogRecord] = []
        head: dict[str, Any] | None = None
        lines: list[str] = []
        raw: list[str] = []
        start = pos = base
        for chunk in data.splitlines(keepends=True):
            line = chunk.decode("utf-8", "replace")
            bare = line.rstrip("\r\n")
            match = HEADER.match(bare)
            if match is not None or head is None and not lines:
                if lines:
                    records.append(self._record(start, pos, head, lines, raw))
                head = match.groupdict() if match is not None else None
                lines = [head["message"] if head is not None else bare]
                raw = [line]
                start = pos
            else:
                prefix = f"[{head['source']}] " if head is not None and head.get("source") else ""
                lines.append(bare[len(prefix) :] if prefix and bare.startswith(prefix) else bare)
                raw.append(line)
            pos += len(chunk)
        if lines:
            records.append(self._record(start, pos, head, lines, raw))
        return records

    def _record(
        self,
        start: int,
        end: int,
        head: dict[str, Any] | None,
        lines: list[str],
        raw: list[str],
    ) -> LogRecord:
        head = head or {"time": None, "logger": None, "level": None}
        record = LogRecord(
            offset=start,
            end=end,
            time=head["time"],
            logger=head["logger"],
            level=head["level"],
            source=head.get("source"),
            message="\n".join(lines),
            text="".join(raw),
        )
        if record.logger is None:
            return record
        if record.logger == "scrapy.utils.log" and BEGIN.match(record.message):
            self.started.discard(record.source)  # another crawl's log appended to the same file
        if record.source in self.started:
            return record
        known = STARTUP_MESSAGES.get(record.logger)
        if record.level in ("DEBUG", "INFO") and known and known.match(record.message):
            return replace(record, startup=True)
        if record.logger in ACTIVITY_LOGGERS or record.message.startswith("Spider opened"):
            self.started.add(record.source)
        return record


def parse(data: bytes, base: int = 0) -> list[LogRecord]:
    """The records of ``data`` (a whole log, or a piece starting at a record at ``base``)."""
    return LogParser().parse(data, base)


def text_of(records: Iterable[LogRecord]) -> str:
    """The records as they stand in the file."""
    return "".join(record.text for record in records)


class LogSource(Protocol):
    """Where a log's bytes come from: a local file, a worker's log on another node."""

    def read(self, offset: int, size: int) -> tuple[bytes, int]:
        """At most ``size`` bytes from ``offset``, and the log's whole size."""
        ...


@dataclass
class Page:
    """The records a read found (filtered), the offset to go on from, the log's size."""

    records: list[LogRecord]
    offset: int
    size: int


def read_page(
    source: LogSource,
    offset: int,
    chunk: int,
    minimum: int = 0,
    needle: str = "",
    scan_chunks: int = SCAN_CHUNKS,
) -> Page:
    """The records from ``offset`` that pass the filters, read ``chunk`` bytes at a time.

    Unfiltered, the whole records of one chunk; filtered, as many as fill a chunk, from at most
    ``scan_chunks`` chunks scanned. The page ends where a record starts (the last record of a
    piece may go on in the next one), or at the end of the log. An offset in the middle of a
    line (a reader that jumped to a log's tail) goes on from the next line. A record longer
    than a chunk is read whole up to ``scan_chunks`` chunks, and cut there.
    """
    mid_line = offset > 0  # the byte before offset tells whether a line starts there
    pos = offset - 1 if mid_line else 0
    pieces = 1 if not (minimum or needle) else scan_chunks
    parser = LogParser()
    found: list[LogRecord] = []
    answered = size = 0
    want = chunk
    while pieces > 0 and answered < chunk:
        data, size = source.read(pos, want)
        if not data:
            break
        full = len(data) == want
        at_end = pos + len(data) >= size
        if mid_line:
            newline = data.find(b"\n")
            if newline < 0:
                pos, pieces = pos + len(data), pieces - 1
                continue
            pos, data, mid_line = pos + newline + 1, data[newline + 1 :], False
            if not data:
                continue
        if full and b"\n" in data:
            data = data[: data.rindex(b"\n") + 1]  # a whole last line
        records = parser.parse(data, pos)
        if not at_end and len(records) > 1:
            records.pop()  # it may go on in the next piece: read again from its start
        elif not at_end and want < chunk * scan_chunks:
            want *= 2  # one record longer than the piece: read it whole
            continue
        want, pieces = chunk, pieces - 1
        pos = records[-1].end
        for record in records:
            if passes(record, minimum, needle):
                found.append(record)
                answered += record.end - record.offset
    return Page(found, max(pos, offset), size)
