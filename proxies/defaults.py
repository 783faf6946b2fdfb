"""Every setting the proxy pool reads, with its default: the one place defaults live.

Upper-case names are settings; lower-case module-level names are helpers, not settings.
Components read them through :class:`proxies.settings.PoolSettings` (``python -m proxies``) or
a Scrapy ``Settings`` (``crawler/settings.py`` star-imports this module), never with an inline
fallback. Override with ``-s NAME=VALUE``; the standalone ``python -m proxies`` also takes a
setting from an environment variable of the same name.
"""

from vocab.datadir import data_dir
from vocab.statedir import state_dir

# The embedded pool's records go where the crawler keeps its files: data/, or the directory the
# environment variable CRAWLER_DATA_DIR names (vocab/datadir.py; tests set it).

# --- where the pool keeps its records ---------------------------------------------------------
# sqlite:///path (embedded: memory + SQLite), memory: (throwaway) or redis://host:port/db (shared).
PROXY_POOL_STORE = f"sqlite:///{data_dir / 'proxies.db'}"
# URI scheme -> store class path (as Scrapy's FEED_STORAGES); each class has from_uri(uri, settings).
PROXY_POOL_STORES = {
    "sqlite": "proxies.pool_store.EmbeddedStore",
    "memory": "proxies.pool_store.EmbeddedStore",
    "redis": "proxies.redis_pool_store.RedisStore",
    "rediss": "proxies.redis_pool_store.RedisStore",
    "unix": "proxies.redis_pool_store.RedisStore",
}
# The Redis server of RedisProxyPool when PROXY_POOL_STORE is not itself a Redis URL.
PROXY_POOL_REDIS_URL = "redis://127.0.0.1:6379/0"
# Key prefix of the pool's Redis keys ({prefix}:r:{key}, {prefix}:score, ...).
PROXY_POOL_REDIS_PREFIX = "proxypool"
# Seconds the embedded store waits between SQLite writes (it also writes on close).
PROXY_POOL_FLUSH_INTERVAL = 2.0
# Seconds after which the embedded store re-reads SQLite (checks made by another process).
PROXY_POOL_RELOAD_INTERVAL = 30.0
# Where generated secrets (HMAC key secret, API token) go when none is configured: the
# deployment's state directory, outside the checkout (vocab/statedir.py).
PROXY_POOL_DATA_DIR = str(state_dir() / "proxies")

# --- proxy keys: HMAC-SHA256 of the credentials with a deployment secret -----------------------
# Name of the environment variable holding the secret (any string, 16+ characters).
PROXY_POOL_KEY_SECRET_ENV = "PROXY_POOL_KEY_SECRET"
# A file holding the secret, outside the checkout. None: PROXY_POOL_DATA_DIR/key-secret,
# generated (mode 0600) on first use. Every machine sharing a pool must use the same secret.
PROXY_POOL_KEY_SECRET_FILE = None

# --- validation ---------------------------------------------------------------------------------
# The judge the validator fetches through each proxy (run one with `python -m proxies judge`).
PROXY_POOL_JUDGE_URL = "http://127.0.0.1:8899/"
# The judge's HTTPS side: enables the HTTPS-through-CONNECT check (e.g. https://127.0.0.1:8900/).
PROXY_POOL_JUDGE_HTTPS_URL = None
# Verify the judge's TLS certificate (False for the judge's generated self-signed one).
PROXY_POOL_JUDGE_TLS_VERIFY = True
# Addresses that count as ours besides the one the judge sees (comma-separated or a list).
PROXY_POOL_OWN_ADDRESSES = []
# Seconds one check step may take (connect + answer), through the proxy.
PROXY_POOL_CHECK_TIMEOUT = 5.0
# Checks in flight at once.
PROXY_POOL_CHECK_CONCURRENCY = 200
# HTTPS (TLS) checks in flight at once; their timeout starts once a slot is free.
PROXY_POOL_CHECK_TLS_CONCURRENCY = 64
# Check a proxy that timed out once more at the end of the batch. Off: the re-check schedule
# already gives a failing proxy more tries before it is dropped (PROXY_POOL_MAX_FAILURES).
PROXY_POOL_CHECK_RETRY_TIMEOUTS = False
# Site checks: {"shop.example": {"url": "https://shop.example/", "marker": "<title>Shop"}}.
PROXY_POOL_TARGETS = {}
# For a target domain, never fall back to proxies not proven on the site itself.
PROXY_POOL_PROVEN_ONLY = False

# --- what a pool serves -----------------------------------------------------------------------
PROXY_POOL_PAID = None  # True: paid proxies only; False: free only; None: both
PROXY_POOL_MIN_ANONYMITY = None  # transparent | anonymous | elite
PROXY_POOL_HTTPS = False  # only proxies that passed the HTTPS (CONNECT) check

# --- scoring (proxies.scoring.ScoringPolicy) ----------------------------------------------------
PROXY_POOL_MAX_FAILURES = 6  # failures in a row before a proxy is dropped
PROXY_POOL_BENCH_BASE = 15.0  # seconds a failure benches a proxy, doubled per failure in a row
PROXY_POOL_BENCH_MAX = 1800.0  # the longest bench (failures and bans)
PROXY_POOL_BAN_BENCH_BASE = 60.0  # seconds a ban benches a proxy for that domain, doubled per ban
PROXY_POOL_RECHECK_GOOD = 300.0  # seconds between re-checks of a healthy proxy
PROXY_POOL_RECHECK_BASE = 120.0  # first re-check after a failure, doubled per failure in a row
PROXY_POOL_RECHECK_MAX = 21600.0  # the longest wait between re-checks
PROXY_POOL_PICK_TOP = 5  # get() picks among this many best, weighted by rank

# --- sources (proxies.sources) -----------------------------------------------------------------
PROXY_POOL_SOURCES = []  # a list of source mappings (or its JSON text)
PROXY_POOL_SOURCES_FILE = None  # a YAML/JSON file with a `sources:` list
PROXY_POOL_PAID_FILE = None  # paid proxies, one URL a line, kept outside the repository
PROXY_POOL_PAID_ENV = "PROXY_POOL_PAID_PROXIES"  # variable holding paid proxy URLs
PROXY_POOL_FETCH_TIMEOUT = 30.0  # seconds one source fetch may take
PROXY_POOL_RULE_TIMEOUT = 600.0  # seconds a rule source's crawl may take

# --- the service: HTTP API (`python -m proxies serve`) and its clients ------------------------------
PROXY_POOL_API_HOST = "127.0.0.1"  # anything but loopback needs a configured token
PROXY_POOL_API_PORT = 5010
# Name of the environment variable holding the API token (state changes need it).
PROXY_POOL_API_TOKEN_ENV = "PROXY_POOL_API_TOKEN"
# A file holding the token, outside the repository. None: PROXY_POOL_DATA_DIR/api-token,
# generated (mode 0600) by `serve` on loopback when no token is configured.
PROXY_POOL_API_TOKEN_FILE = None
PROXY_POOL_API_MAX_BODY = 65536  # bytes a request body may hold (413 past it)
# Bytes of the request line's target (path and query) the API reads (431 past it, at least 256).
PROXY_POOL_API_MAX_REQUEST_LINE = 8190
# Bytes of one header field, name and value (431 past it, at least 256).
PROXY_POOL_API_MAX_HEADER_FIELD = 8190
# Header fields one request may carry (431 past it, at least 8).
PROXY_POOL_API_MAX_HEADERS = 64
# Host header names the API answers to besides the address a request arrived at (and `localhost`
# when that is a loopback address), on its own port: "name" (any port) or "name:port", e.g. the
# name clients use to reach a public bind. Any other Host is a 400 (DNS rebinding).
PROXY_POOL_API_ALLOWED_HOSTS = []
# Wrong API tokens a client address (an IPv6 one by its /64) may send before it must wait.
PROXY_POOL_API_BACKOFF_AFTER = 5
# Seconds the first wait lasts; each further wrong token doubles it. Tries while a client waits
# are answered 429 (with Retry-After), unchecked.
PROXY_POOL_API_BACKOFF_BASE = 1.0
PROXY_POOL_API_BACKOFF_MAX = 300.0  # the longest wait; a client quiet this long starts afresh
PROXY_POOL_API_BACKOFF_CLIENTS = 4096  # client addresses remembered (least recent forgotten)
PROXY_POOL_API_URL = "http://127.0.0.1:5010"  # where HttpApiProxyPool finds the API
PROXY_POOL_API_TIMEOUT = 2.0  # seconds HttpApiProxyPool waits for an answer
PROXY_POOL_API_CACHE = 2.0  # seconds HttpApiProxyPool reuses a candidate list
PROXY_POOL_SERVE_CHECK = True  # serve: re-check proxies when due
PROXY_POOL_SERVE_FETCH = True  # serve: fetch sources when due
PROXY_POOL_RECHECK_BATCH = 500  # proxies re-checked per round by `serve`

# --- the judge (`python -m proxies judge`) ----------------------------------------------------
PROXY_POOL_JUDGE_HOST = "127.0.0.1"  # it changes no state: a public bind is allowed (warned)
PROXY_POOL_JUDGE_PORT = 8899
PROXY_POOL_JUDGE_TLS_PORT = None  # also serve HTTPS here (self-signed unless cert/key given)
PROXY_POOL_JUDGE_CERT = None
PROXY_POOL_JUDGE_KEY = None

# --- the static pool (proxies.static.StaticProxyPool), the crawler's default pool ----------------
PROXY_LIST = []  # or a newline/comma separated string; http://user:pass@host:port
PROXY_LIST_FILE = None  # one proxy a line, `#` comments
PROXY_LIST_ENV = None  # name of an environment variable holding proxies
PROXY_BAN_BACKOFF = 60.0  # seconds a ban benches a proxy for that domain, doubled per ban in a row
PROXY_FAILURE_BACKOFF = 10.0  # seconds a failure benches a proxy everywhere, doubled likewise
PROXY_BACKOFF_MAX = 1800.0  # the longest bench

# --- the crawler's proxy middleware (crawler/antiban/proxy_middleware.py) -------------------------
# Seconds a stopping crawl (SIGTERM, Ctrl-C, no usable proxy) lets downloads through proxies run
# before it cuts their connections, so that a stalled proxy cannot hold the shutdown for its
# whole PROXY_DOWNLOAD_TIMEOUT.
PROXY_SHUTDOWN_GRACE = 2.0

__all__ = [name for name in dir() if name.isupper()]  # what `from proxies.defaults import *` brings
