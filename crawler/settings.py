"""Platform-wide Scrapy settings. Override with ``-s NAME=VALUE``, the environment, or a rule's ``settings:``."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

BOT_NAME = "crawler"

# Spiders are generated from rule files; hand-written spiders in SPIDER_MODULES still load too.
SPIDER_LOADER_CLASS = "crawler.spiderloader.RuleSpiderLoader"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# Where site rules (and item types, under types/) live.
RULES_DIR = str(PROJECT_ROOT / "rules")

# Your own modules registering cleaners (@cleaner) and extractors (@extractor) that rules name.
PLUGIN_MODULES: list[str] = []

# Embedded store by default; mongodb://... selects MongoDB.
STORE_URI = f"sqlite:///{PROJECT_ROOT / 'data' / 'items.db'}"

ROBOTSTXT_OBEY = False
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 30
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.encoding.EncodingMiddleware": 120,
}

ITEM_PIPELINES = {
    "crawler.validation.ItemTypePipeline": 800,
    # Writes last: after validation has marked invalid items (_errors, _raw) for dead-lettering.
    "crawler.pipelines.StorePipeline": 900,
}

# -- Store layer (crawler/store, crawler/pipelines.py, docs/storage.md) --
EXTENSIONS = {
    "crawler.extensions.runs.RunRecorder": 500,
    "crawler.schedule.runs.ScheduledRunMarker": 100,  # only under `scrapy schedule`
}
STORE_BATCH_SIZE = 500
STORE_BATCH_SECONDS = 2.0
STORE_RETRY_TIMES = 3
STORE_RETRY_BACKOFF = 1.0  # seconds before the first retry; doubled at each retry
STORE_BUFFER_MAX = 10_000
STORE_SPILL_DIR = str(PROJECT_ROOT / "data" / "spill")
STORE_RUNS_ENABLED = True

# --- distributed crawls (crawler/distributed, docs/distributed.md) ---------------------------
# REDIS_URL (here from the environment, or -s) switches a crawl to the shared Redis queue;
# DISTRIBUTED=1 does too (with redis://127.0.0.1:6379/0 unless REDIS_URL says otherwise).
ADDONS = {"crawler.distributed.addon.DistributedCrawl": 0}
REDIS_URL = os.environ.get("REDIS_URL", "")
DISTRIBUTED = None
DISTRIBUTED_DUPEFILTER = "set"  # or "bloom", for crawls of many millions of URLs
DISTRIBUTED_BLOOM_CAPACITY = 10_000_000  # expected URLs
DISTRIBUTED_BLOOM_ERROR_RATE = 0.001
DISTRIBUTED_IDLE_TIMEOUT = 30.0  # a worker stops after the whole crawl was idle this long (s)
DISTRIBUTED_POLL_INTERVAL = 0.5  # heartbeat and queue poll (s)
DISTRIBUTED_LEASE_TIMEOUT = 60.0  # a worker silent this long is dead; its requests are requeued
DISTRIBUTED_SEED = False  # this worker resets the crawl and seeds it with the rule's start requests
# Keep the queue and dupefilter when the last worker leaves (scrapy-redis's setting).
SCHEDULER_PERSIST = False

# --- incremental crawls (`fetch: once` pages; crawler/distributed/incremental_crawl.py) ---
SPIDER_MIDDLEWARES = {"crawler.distributed.incremental_crawl.IncrementalMiddleware": 600}
INCREMENTAL_ENABLED = True  # False: fetch every page this run (fetches are still recorded)
# Seen-URL state on one machine; a distributed crawl keeps it in Redis (<rule>:seen).
INCREMENTAL_STATE_URI = f"sqlite:///{PROJECT_ROOT / 'data' / 'seen.db'}"

# --- scheduled crawls (`scrapy schedule`; crawler/schedule) ----------------------------------
SCHEDULE_DIR = str(PROJECT_ROOT / "data" / "schedule")  # state.json, crawl logs, lock files
SCHEDULE_TICK = 1.0  # seconds between looks at the clock and the rules directory
SCHEDULE_MISFIRE_GRACE = 60.0  # a run noticed later than this counts as missed (see catch_up)
SCHEDULE_STOP_GRACE = 30.0  # SIGTERM a crawl, SIGKILL it this long after
