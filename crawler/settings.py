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

# Proxy pool (proxies/, docs/proxies.md). The crawler's proxy middleware builds its pool from a
# dotted class path; these configure the pools, the validator, the API and the judge.
# PROXY_POOL_STORE: sqlite:///path (embedded, default), memory:, or redis://host:port/db (shared)
PROXY_POOL_STORE = f"sqlite:///{PROJECT_ROOT / 'data' / 'proxies.db'}"
PROXY_POOL_REDIS_PREFIX = "proxypool"
PROXY_POOL_JUDGE_URL = "http://127.0.0.1:8899/"  # run one with `scrapy proxies judge`
PROXY_POOL_JUDGE_HTTPS_URL = None  # e.g. https://127.0.0.1:8900/ with `judge --tls-port 8900`
PROXY_POOL_JUDGE_TLS_VERIFY = True  # False for the judge's self-signed certificate
PROXY_POOL_CHECK_TIMEOUT = 5.0
PROXY_POOL_CHECK_CONCURRENCY = 200
PROXY_POOL_TARGETS = {}  # {"example.com": {"url": "https://example.com/", "marker": "<title>Example"}}
PROXY_POOL_SOURCES = []  # see proxies/sources.py
PROXY_POOL_SOURCES_FILE = None
PROXY_POOL_PAID_FILE = None  # one proxy URL a line, kept outside the repository
PROXY_POOL_PAID_ENV = "PROXY_POOL_PAID_PROXIES"
PROXY_POOL_PAID = None  # True: paid only, False: free only
PROXY_POOL_MIN_ANONYMITY = None  # transparent | anonymous | elite
PROXY_POOL_API_HOST = "127.0.0.1"
PROXY_POOL_API_PORT = 5010
PROXY_POOL_API_URL = "http://127.0.0.1:5010"
