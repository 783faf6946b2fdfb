"""The data service (`scrapy serve`, crawler/service; docs/service.md) and its API tokens
(`scrapy auth tokens`). Sign-in settings (SIGNIN_*) are in crawler/defaults/auth.py."""

from pathlib import Path

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
SERVICE_DATA_DIR = str(project_root / "data" / "service")  # proxy pool samples
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
SERVICE_PREVIEW_TIMEOUT = 60.0  # seconds a preview (a `scrapy preview` process) may take
SERVICE_PREVIEW_MAX_OUTPUT = 4_000_000  # bytes of a preview's output read back
SERVICE_CHANGES_SETTLE = 2.0  # the change feed leaves out writes younger than this (seconds)
SERVICE_AUTO_INDEX = True  # create the index a sorted or filtered item listing needs
SERVICE_AUTO_INDEX_MAX = 8  # ... at most this many per collection and service process
SERVICE_REPLAY_MAX = 10_000  # dead letters replayed by one request
SERVICE_RUN_ARGS_MAX = 50  # rule arguments one run request may pass
SERVICE_PROXY_SAMPLE_INTERVAL = 300.0  # seconds between samples of the proxy pool's health
SERVICE_PROXY_HISTORY_DAYS = 7.0  # samples kept
SERVICE_PROXY_RUNS = 200  # recent run records the per-domain proxy success is computed from

minimums = {
    "SERVICE_PORT": 0,
    "SERVICE_PAGE_MAX": 1,
    "SERVICE_HISTORY_MAX": 0,
    "SERVICE_LOG_CHUNK": 1024,
    "SERVICE_EVENTS_POLL": 0.01,
    "SERVICE_EVENTS_PROGRESS_EVERY": 0.1,
    "SERVICE_RUN_UPDATE_INTERVAL": 0.1,
    "SERVICE_PREVIEW_TIMEOUT": 1,
    "SERVICE_CHANGES_SETTLE": 0,
    "SERVICE_PROXY_SAMPLE_INTERVAL": 1,
}
