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
PROXY_LIST = []  # or a newline/comma separated string; http://user:pass@host:port
PROXY_LIST_FILE = None
PROXY_LIST_ENV = None
PROXY_POLICY = "random"  # random | round_robin | lru | sticky_domain | sticky_session | class path
PROXY_DIRECT = "never"  # never | fallback | until_blocked
PROXY_PAID_ONLY = False
PROXY_BAN_BACKOFF = 60.0  # seconds a ban benches a proxy for that domain, doubled per ban in a row
PROXY_FAILURE_BACKOFF = 10.0  # seconds a failure benches a proxy everywhere, doubled likewise
PROXY_BACKOFF_MAX = 1800.0
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
}
STORE_BATCH_SIZE = 500
STORE_BATCH_SECONDS = 2.0
STORE_RETRY_TIMES = 3
STORE_RETRY_BACKOFF = 1.0  # seconds before the first retry; doubled at each retry
STORE_BUFFER_MAX = 10_000
STORE_SPILL_DIR = str(PROJECT_ROOT / "data" / "spill")
STORE_RUNS_ENABLED = True
