"""The item store, its pipelines and run records (crawler/store, crawler/runs/recorder.py;
docs/storage.md)."""

import os

from vocab.datadir import data_dir

# Where items go: sqlite:///path (embedded, the default), sqlite:// (memory), mongodb://...,
# postgresql://user:pass@host/db
# From the environment variable STORE_URI when set (a node's store, credentials included, comes
# from its own environment: the dispatcher never passes a setting holding a password).
STORE_URI = os.environ.get("STORE_URI") or f"sqlite:///{data_dir / 'items.db'}"
# Store backends by URI scheme (as Scrapy's FEED_STORAGES); add your own in STORE_BACKENDS.
STORE_BACKENDS_BASE = {
    "sqlite": "crawler.store.sqlite.SqliteStore",
    "mongodb": "crawler.store.mongo.MongoStore",
    "mongodb+srv": "crawler.store.mongo.MongoStore",
    "postgresql": "crawler.store.postgres.PostgresStore",
    "postgres": "crawler.store.postgres.PostgresStore",
}
STORE_BACKENDS: dict[str, str] = {}
STORE_BATCH_SIZE = 500  # items per write
STORE_BATCH_BYTES = 4 * 1024 * 1024  # ...or fewer: a batch is written once its items hold this much
STORE_BATCH_SECONDS = 2.0  # a partial batch is written after this long
STORE_RETRY_TIMES = 3  # retries of a failed batch before it is spilled
STORE_RETRY_BACKOFF = 1.0  # seconds before the first retry, doubled at each retry
STORE_BUFFER_MAX = 10_000  # items held in memory while the store fails; beyond: spill
# The same bound in bytes of item text (big pages: a few hundred items are tens of MB): beyond
# it, new items wait while the store is slow, and the oldest batches spill while it fails.
STORE_BUFFER_BYTES = 32 * 1024 * 1024
STORE_SPILL_DIR = str(data_dir / "spill")  # where items go when the store fails
# The write-ahead journal: items are appended (fsync per batch) before their request counts as
# done; the next run, or `scrapy store replay`, writes what the store did not acknowledge.
# Empty: no journal (a killed crawl loses what its buffers held).
STORE_JOURNAL_DIR = str(data_dir / "journal")
STORE_JOURNAL_SEGMENT_BYTES = 64 * 1024 * 1024  # a new journal file after this many bytes
STORE_JOURNAL_REPLAY = True  # replay journals of dead processes into the store at open and close
STORE_RUNS_ENABLED = True  # keep a record of every crawl in the store

rule_safe = {"STORE_BATCH_SIZE", "STORE_BATCH_BYTES", "STORE_BATCH_SECONDS"}
minimums = {
    "STORE_BATCH_SIZE": 1,
    "STORE_BATCH_BYTES": 1,
    "STORE_BUFFER_BYTES": 1,
    "STORE_BATCH_SECONDS": 0.01,
    "STORE_RETRY_TIMES": 0,
    "STORE_RETRY_BACKOFF": 0,
    "STORE_BUFFER_MAX": 1,
    "STORE_JOURNAL_SEGMENT_BYTES": 4096,
}
