"""The page archive and backfills: re-extraction without re-crawling (docs/archive.md; settings
in crawler/defaults/archive.py; a rule's ``archive:`` section switches it on).

- :mod:`.sqlite_archive`: the archive's file, one SQLite database per rule under
  ``ARCHIVE_DIR``: the latest copy of each page, compressed, within its size and age;
- :mod:`.middleware`: the crawl's side, a spider middleware capturing every page a page type
  parsed, written in batches on a thread of its own (``PageArchiveMiddleware``);
- :mod:`.replay`: an archived page parsed again by the rule as it is now, through the rule
  spider's extraction and the item pipeline's item types;
- :mod:`.backfill`: what ``scrapy rules backfill`` does: compare with the store (a dry run,
  :mod:`.compare`) or write through its upsert, with a run record; :mod:`.report` prints it.

The CLI uses what this module exports.
"""

from crawler.archive.backfill import BackfillError, BackfillReport, backfill
from crawler.archive.report import report_json, summary_lines
from crawler.archive.sqlite_archive import ArchiveError, archive_path

__all__ = [
    "ArchiveError",
    "BackfillError",
    "BackfillReport",
    "archive_path",
    "backfill",
    "report_json",
    "summary_lines",
]
