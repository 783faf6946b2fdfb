"""The data service (`scrapy serve`, crawler/service; docs/service.md) and its API tokens
(`scrapy auth tokens`). Sign-in settings (SIGNIN_*) are in crawler/defaults/auth.py."""

from pathlib import Path

from vocab.datadir import data_dir
from vocab.statedir import state_dir

project_root = Path(__file__).resolve().parents[2]

# A non-loopback address is refused unless API tokens or sign-in (SIGNIN_PROVIDERS) are configured.
SERVICE_HOST = "127.0.0.1"
SERVICE_PORT = 6800
# Addresses of reverse proxies whose X-Forwarded-Proto / X-Forwarded-For are believed (uvicorn's
# forwarded_allow_ips, comma-separated; "*" any): HTTPS at the proxy makes session cookies Secure.
SERVICE_FORWARDED_ALLOW_IPS = "127.0.0.1"
# API tokens, hashed (`scrapy auth tokens create`): a file in the deployment's state directory,
# outside the checkout (vocab/statedir.py).
SERVICE_TOKENS_FILE = str(state_dir() / "service" / "tokens.json")
# Name of an environment variable holding more tokens (comma-separated, 16+ characters each).
SERVICE_TOKENS_ENV = "CRAWLER_SERVICE_TOKENS"
SERVICE_DATA_DIR = str(data_dir / "service")  # proxy pool samples
# The dashboard's built assets, served at / when present (index.html).
SERVICE_DASHBOARD_DIR = str(project_root / "dashboard" / "dist")
SERVICE_PAGE_MAX = 500  # the most documents one page of any list may ask for
SERVICE_HISTORY_MAX = 100  # earlier versions returned with one item
SERVICE_LOG_CHUNK = 65536  # bytes of a log returned per request
SERVICE_EVENTS_POLL = 1.0  # seconds between looks at a running crawl's record and log
# A live run's event stream sends its progress at least this often (seconds), changed or not:
# the run page's duration, rate and ETA tick with it.
SERVICE_EVENTS_PROGRESS_EVERY = 1.0
# The crawls the service starts update their run record this often (seconds; their
# RUN_UPDATE_INTERVAL), so that a run page's counters move every second from the start.
SERVICE_RUN_UPDATE_INTERVAL = 1.0
SERVICE_EVENTS_MAX_SECONDS = 86400.0  # an event stream ends after this long whatever happens
SERVICE_PREVIEW_TIMEOUT = 30.0  # seconds a preview (a `scrapy preview` process) may take
# previews running at once (each a process, a browser's when the rule renders); one more is a
# 429 at once, never queued
SERVICE_PREVIEW_CONCURRENCY = 2
SERVICE_PREVIEW_MAX_OUTPUT = 4_000_000  # bytes of a preview's output read back
SERVICE_CHANGES_SETTLE = 2.0  # the change feed leaves out writes younger than this (seconds)
# Sort and filter fields of item listings: the fields of each item type a collection's rules
# store (one index each, created by the service in the background, never by a query) ...
SERVICE_INDEX_ITEM_TYPES = True
# ... and these, per collection: a field name, or a list of fields for one compound index
# (equality filters first, the sort field last), e.g. {"books": ["isbn", ["tag", "price"]]}.
SERVICE_INDEXES: dict[str, list] = {}
# Indexes an admin may add per collection (POST /api/admin/indexes; kept in SERVICE_DATA_DIR).
SERVICE_ADMIN_INDEX_MAX = 8
# Request bodies: at most this many bytes (413 beyond), counted while the body arrives, before
# it is parsed ...
SERVICE_BODY_MAX = 65536
# ... or, for the routes named here ("METHOD /path/{template}" as the API declares it), this many:
# a rule file is at most 1,000,000 bytes of UTF-8, up to twice that once escaped in JSON.
SERVICE_BODY_MAX_ROUTES = {
    "PUT /api/rules/{name}": 2_200_000,
    "POST /api/rules/validate": 2_200_000,
    "POST /api/rules/preview": 2_300_000,
    "POST /api/rules/{name}/snapshot": 2_300_000,
    "POST /api/rules/{name}/pick": 2_400_000,
    "POST /api/collections/{name}/dead/replay": 1_000_000,
}
# Host header names the service answers to besides loopback (127.0.0.1, localhost, [::1] on its
# own port), the address it is bound to and SIGNIN_BASE_URL's host: "name" (any port) or
# "name:port", e.g. the public name of a reverse proxy. Any other Host is a 400 (DNS rebinding).
SERVICE_ALLOWED_HOSTS: list[str] = []
SERVICE_REPLAY_MAX = 10_000  # dead letters replayed by one request
SERVICE_RUN_ARGS_MAX = 50  # rule arguments one run request may pass
SERVICE_PROXY_SAMPLE_INTERVAL = 300.0  # seconds between samples of the proxy pool's health
SERVICE_PROXY_HISTORY_DAYS = 7.0  # samples kept
SERVICE_PROXY_RUNS = 200  # recent run records the per-domain proxy success is computed from
# GET /metrics (crawler/service/metrics.py, docs/metrics.md): one scrape reports at most this many
# rules, the most recently run first ...
SERVICE_METRICS_MAX_RULES = 1000
# ... found among at most this many of the newest run records (one query, newest first), plus
# the rules earlier scrapes found, one indexed read each: a scrape reads at most
# SCAN_RECORDS + MAX_RULES records (and 3 more per rule running), however many the store keeps.
SERVICE_METRICS_SCAN_RECORDS = 1000

minimums = {
    "SERVICE_PORT": 0,
    "SERVICE_PAGE_MAX": 1,
    "SERVICE_HISTORY_MAX": 0,
    "SERVICE_LOG_CHUNK": 1024,
    "SERVICE_EVENTS_POLL": 0.01,
    "SERVICE_EVENTS_PROGRESS_EVERY": 0.1,
    "SERVICE_RUN_UPDATE_INTERVAL": 0.1,
    "SERVICE_PREVIEW_TIMEOUT": 1,
    "SERVICE_PREVIEW_CONCURRENCY": 1,
    "SERVICE_CHANGES_SETTLE": 0,
    "SERVICE_PROXY_SAMPLE_INTERVAL": 1,
    "SERVICE_ADMIN_INDEX_MAX": 0,
    "SERVICE_BODY_MAX": 1024,
    "SERVICE_METRICS_MAX_RULES": 1,
    "SERVICE_METRICS_SCAN_RECORDS": 1,
}
