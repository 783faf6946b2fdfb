"""The page archive (crawler/archive; a rule's ``archive:`` section; docs/archive.md).

A rule's ``archive:`` sets ``ARCHIVE_ENABLED`` and, when it says so, ``ARCHIVE_MAX_BYTES``,
``ARCHIVE_MAX_AGE`` and ``ARCHIVE_PAGES``; where the archive lives and how far any rule may
grow it are the project's (a rule never names a file).
"""

from vocab.datadir import data_dir

ARCHIVE_ENABLED = False  # keep the pages a crawl parsed (set by a rule's archive: section)
# One SQLite file per rule under this directory: <ARCHIVE_DIR>/<rule>.sqlite
ARCHIVE_DIR = str(data_dir / "archive")
ARCHIVE_MAX_BYTES = 500 * 1000 * 1000  # what one rule's archive may hold (compressed)
ARCHIVE_MAX_AGE = 90 * 86400.0  # seconds: older pages are dropped
ARCHIVE_PAGES: list[str] = []  # the page types archived; empty: every page type
# The most any rule's max_size may ask for: its archive is held to this whatever it says.
ARCHIVE_LIMIT_BYTES = 10 * 1000 * 1000 * 1000
ARCHIVE_BATCH_PAGES = 200  # pages written per transaction...
ARCHIVE_BATCH_BYTES = 8 * 1024 * 1024  # ...or fewer, once their bodies hold this much
ARCHIVE_BATCH_SECONDS = 2.0  # a partial batch is written once it is this old
# Page bodies waiting for the archive's thread; beyond, pages are not archived (counted under
# archive/skipped/busy, logged once) rather than holding the crawl's memory.
ARCHIVE_BUFFER_BYTES = 64 * 1024 * 1024

kinds = {"ARCHIVE_PAGES": "list"}
minimums = {
    "ARCHIVE_MAX_BYTES": 1,
    "ARCHIVE_MAX_AGE": 1,
    "ARCHIVE_LIMIT_BYTES": 1,
    "ARCHIVE_BATCH_PAGES": 1,
    "ARCHIVE_BATCH_BYTES": 1,
    "ARCHIVE_BATCH_SECONDS": 0.01,
    "ARCHIVE_BUFFER_BYTES": 1,
}
