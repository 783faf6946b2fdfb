"""OAuth-protected sources (crawler/oauth, crawler/middlewares/oauth.py; docs/auth.md).

A rule's ``auth:`` section sets OAUTH_PROVIDER and OAUTH_CREDENTIAL; the providers themselves,
their client ids and the names of the environment variables holding their secrets are the
project's (OAUTH_PROVIDERS, see crawler/oauth/providers.py), never a rule's.
"""

from pathlib import Path

project_root = Path(__file__).resolve().parents[2]

OAUTH_ENABLED = True
OAUTH_PROVIDERS: dict[str, dict] = {}  # name -> {issuer | token_url, client_id, ...}
OAUTH_PROVIDER = None  # set by a rule's auth: section
OAUTH_CREDENTIAL = "default"  # which stored credential of the provider
# One machine: tokens in this SQLite file; a distributed crawl keeps them in Redis (REDIS_URL).
OAUTH_TOKEN_STORE_URI = f"sqlite:///{project_root / 'data' / 'oauth.db'}"
OAUTH_TOKEN_STORES = {
    "sqlite": "crawler.oauth.stores.SqliteTokenStore",
    "redis": "crawler.oauth.redis_store.RedisTokenStore",
    "rediss": "crawler.oauth.redis_store.RedisTokenStore",
}
OAUTH_REFRESH_MARGIN = 60.0  # renew a token this many seconds before it expires
OAUTH_LOCK_TIMEOUT = 30.0  # longest wait for another process's refresh of the same token
OAUTH_HTTP_TIMEOUT = 10.0  # each call to a token endpoint
OAUTH_RETRY_PRIORITY_ADJUST = 0  # a request retried after a token-expired answer

kinds = {"OAUTH_PROVIDER": "str"}
minimums = {"OAUTH_REFRESH_MARGIN": 0, "OAUTH_LOCK_TIMEOUT": 0.1, "OAUTH_HTTP_TIMEOUT": 0.1}
