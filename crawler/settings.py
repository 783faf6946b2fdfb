"""Platform-wide Scrapy settings. Override with ``-s NAME=VALUE``, the environment, or a rule's ``settings:``."""

import os
from pathlib import Path

from proxies.defaults import *  # noqa: F401,F403

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
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response's output (default 100). Our
# pipelines are synchronous and batch their writes, so more than a few buys nothing: measured
# on the sample site, 100 -> 8 took the crawl from ~160 to ~220 pages per CPU-second.
CONCURRENT_ITEMS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 30
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.encoding.EncodingMiddleware": 120,
    # Anti-ban (docs/antiban.md). process_request runs in ascending order: session, then proxy,
    # then the user-agent profile of that session/proxy; HttpProxyMiddleware (750) applies the
    # proxy. process_response runs descending: the ban check (585) sees decompressed bodies
    # (compression is 590) and followed redirects (600), and ban statuses before RetryMiddleware (550).
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawler.middlewares.sessions.SessionMiddleware": 540,
    "crawler.middlewares.proxy.ProxyMiddleware": 545,
    "crawler.middlewares.useragent.UserAgentMiddleware": 548,
    "crawler.middlewares.ban.BanMiddleware": 585,
}

# --- Anti-ban: user agents (crawler.middlewares.useragent) ---
# A fixed USER_AGENT (settings, rule, -s) or USER_AGENT_FIXED wins over rotation.
USER_AGENT_ROTATE = True
USER_AGENT_PLATFORMS = ["desktop"]
USER_AGENT_BROWSERS = []  # empty: every browser of fake-useragent's data (chrome, edge, firefox, ...)
USER_AGENT_OS = []  # empty: every OS
USER_AGENT_MIN_VERSION = {}  # per browser, e.g. {"chrome": 120, "firefox": 115}
USER_AGENT_ACCEPT_LANGUAGE = "en-US,en;q=0.9"
USER_AGENT_ROTATE_ON_BAN = True
USER_AGENT_BAN_COOLDOWN = 300.0  # seconds a banned agent is not handed out again

# --- Anti-ban: proxies (crawler.middlewares.proxy, proxies.static) ---
# No proxies configured: the proxy middleware disables itself and requests go direct.
PROXY_POOL_CLASS = "proxies.static.StaticProxyPool"
PROXY_POLICY = "random"  # random | round_robin | lru | sticky_domain | sticky_session | class path
PROXY_DIRECT = "never"  # never | fallback | until_blocked
PROXY_PAID_ONLY = False
PROXY_WAIT_MAX = 120.0  # no usable proxy for this long: the crawl stops (reason antiban_no_proxy)
PROXY_WAIT_POLL = 1.0
PROXY_DOWNLOAD_TIMEOUT = 0  # seconds; >0 caps download_timeout of proxied requests (tarpit proxies)

# --- Anti-ban: ban detection and retry (crawler.middlewares.ban, crawler.antiban.banpolicy) ---
BAN_ENABLED = True
BAN_POLICY_CLASS = "crawler.antiban.banpolicy.BanPolicy"
BAN_STATUSES = [403, 407, 429, 503]
BAN_EXTRA_STATUSES = []
BAN_EXTRA_MARKERS = []  # regexes added to the default captcha/block markers (BAN_MARKERS)
BAN_EXTRA_LOGIN_URL_PATTERNS = []  # regexes added to BAN_LOGIN_URL_PATTERNS
BAN_EMPTY_BODY = True
BAN_PROXY_AUTH_STATUSES = [407]  # through a proxy: its refusal of our credentials (tinyproxy: 401)
BAN_RETRY_TIMES = 5  # separate from Scrapy's RETRY_TIMES
BAN_RETRY_DELAY = 2.0  # direct requests: wait this, doubled per retry, unless Retry-After says
BAN_RETRY_AFTER_MAX = 60.0

# --- Anti-ban: cookie sessions (crawler.middlewares.sessions) ---
# Off unless SESSION_COUNT, SESSION_COOKIES_FILES or SESSION_LOGIN_URL is set.
SESSION_COUNT = 0
SESSION_ROTATE = "round_robin"  # round_robin | random; PROXY_POLICY=sticky_session pins proxies
SESSION_COOKIES_FILES = []  # JSON or cookies.txt, one session per file
SESSION_LOGIN_URL = None
SESSION_LOGIN_FORM = {}  # {"username": "${SITE_USER}", "password": "${SITE_PASSWORD}"}
SESSION_LOGIN_SUCCESS_MARKER = None  # regex the page after login must contain
SESSION_LOGIN_FAILURE_MARKER = None
SESSION_MAX_BANS = 2  # bans before a session is retired (a login page retires it at once)
SESSION_LOGIN_MAX_FAILURES = 3  # failed logins before the crawl stops

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
