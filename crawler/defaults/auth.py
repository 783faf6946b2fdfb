"""Authentication: OAuth-protected sources of crawls (crawler/oauth, crawler/oauth/middleware.py)
and people signing in to the data service (crawler/service/signin); docs/auth.md.

A rule's ``auth:`` section sets OAUTH_PROVIDER and OAUTH_CREDENTIAL; the providers themselves,
their client ids and the names of the environment variables holding their secrets are the
project's (OAUTH_PROVIDERS, see crawler/oauth/source_providers.py), never a rule's. The sign-in
providers (SIGNIN_PROVIDERS, see crawler/service/signin/signin_providers.py) are configured the
same way: an app secret is named by its environment variable, never written in settings.
"""

from pathlib import Path

from vocab.statedir import state_dir

project_root = Path(__file__).resolve().parents[2]

OAUTH_ENABLED = True
OAUTH_PROVIDERS: dict[str, dict] = {}  # name -> {issuer | token_url, client_id, ...}
OAUTH_PROVIDER = None  # set by a rule's auth: section
OAUTH_CREDENTIAL = "default"  # which stored credential of the provider
# One machine: tokens in this SQLite file; a distributed crawl keeps them in Redis (REDIS_URL).
OAUTH_TOKEN_STORE_URI = f"sqlite:///{state_dir() / 'oauth' / 'tokens.db'}"
OAUTH_TOKEN_STORES = {
    "sqlite": "crawler.oauth.token_stores.SqliteTokenStore",
    "redis": "crawler.oauth.redis_token_store.RedisTokenStore",
    "rediss": "crawler.oauth.redis_token_store.RedisTokenStore",
}
OAUTH_REFRESH_MARGIN = 60.0  # renew a token this many seconds before it expires
OAUTH_LOCK_TIMEOUT = 30.0  # longest wait for another process's refresh of the same token
OAUTH_HTTP_TIMEOUT = 10.0  # each call to a token endpoint
OAUTH_RETRY_PRIORITY_ADJUST = 0  # a request retried after a token-expired answer

# -- people signing in to the data service (scrapy serve) --------------------------------------
# name -> {dialect: wechat | standard, client_id, client_secret_env, ...}; empty: no sign-in.
SIGNIN_PROVIDERS: dict[str, dict] = {}
# Who has which role (viewer, editor, admin): a YAML file outside the checkout (the deployment's
# state directory, vocab/statedir.py), written by `scrapy auth people add`, re-read when changed.
SIGNIN_ROLES_FILE = str(state_dir() / "service" / "roles.yaml")
# Sessions and the people who signed in: SQLite, mode 0600 (session ids are stored hashed).
SIGNIN_SESSIONS_FILE = str(state_dir() / "service" / "sessions.db")
# The key signing session cookies: this environment variable when set, else a random key kept
# in SIGNIN_SECRET_FILE (created on first use, mode 0600).
SIGNIN_SECRET_ENV = "CRAWLER_SESSION_SECRET"
SIGNIN_SECRET_FILE = str(state_dir() / "service" / "session.key")
# The service's public address (https://crawler.example.com): callbacks are built on it (WeChat
# checks their domain); empty: the address the browser used.
SIGNIN_BASE_URL = ""
SIGNIN_SESSION_MAX_AGE = 43200.0  # seconds a session lasts at most (12 h), however busy
SIGNIN_SESSION_IDLE = 7200.0  # ... and without a request
SIGNIN_STATE_TTL = 600.0  # seconds a person has to finish signing in at the provider
# Every this many seconds a WeChat session checks its token (sns/auth) and refreshes it; a
# refused refresh token (40030: withdrawn or older than 30 days) ends the session. 0: never.
SIGNIN_RECHECK_INTERVAL = 3600.0
SIGNIN_HTTP_TIMEOUT = 10.0  # each call to a provider
SIGNIN_COOKIE_SECURE = "auto"  # auto: Secure when served over HTTPS (or a trusted proxy says so)
SIGNIN_COOKIE_NAME = "crawler_session"
SIGNIN_CSRF_COOKIE_NAME = "crawler_csrf"  # readable by the dashboard, sent back as X-CSRF-Token
SIGNIN_CSRF_HEADER = "X-CSRF-Token"
# Sign-ins one client address may start (GET /api/auth/{provider}/login: each keeps a session
# row for SIGNIN_STATE_TTL) per SIGNIN_START_WINDOW seconds; beyond it, 429.
SIGNIN_START_RATE = 10
SIGNIN_START_WINDOW = 60.0

kinds = {"OAUTH_PROVIDER": "str"}
choices = {"SIGNIN_COOKIE_SECURE": ("auto", "always", "never")}
minimums = {
    "OAUTH_REFRESH_MARGIN": 0,
    "OAUTH_LOCK_TIMEOUT": 0.1,
    "OAUTH_HTTP_TIMEOUT": 0.1,
    "SIGNIN_SESSION_MAX_AGE": 60,
    "SIGNIN_SESSION_IDLE": 60,
    "SIGNIN_STATE_TTL": 10,
    "SIGNIN_RECHECK_INTERVAL": 0,
    "SIGNIN_HTTP_TIMEOUT": 0.1,
    "SIGNIN_START_RATE": 1,
    "SIGNIN_START_WINDOW": 1,
}
