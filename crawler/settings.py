"""Platform-wide Scrapy settings. Override with ``-s NAME=VALUE``, the environment, or a rule's ``settings:``."""

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
}
STORE_BATCH_SIZE = 500
STORE_BATCH_SECONDS = 2.0
STORE_RETRY_TIMES = 3
STORE_RETRY_BACKOFF = 1.0  # seconds before the first retry; doubled at each retry
STORE_BUFFER_MAX = 10_000
STORE_SPILL_DIR = str(PROJECT_ROOT / "data" / "spill")
STORE_RUNS_ENABLED = True
