"""Data push (crawler/push; a rule's ``push:`` section; docs/service.md): sinks that deliver
new and changed items to business systems while the crawl stores them."""

from vocab.datadir import data_dir

PUSH_SINKS: list[str] = []  # any of: webhook, redis, mysql (a rule's push: section sets it too)
# Sinks that deliver a story once: items stored as near-duplicates of an earlier item
# (_duplicate_of, an item type's near_duplicates:) are not delivered to them, only counted
# (push/<sink>/skipped_duplicates). A rule's push: {skip_duplicates: true} sets it too.
PUSH_SKIP_DUPLICATES: list[str] = []
PUSH_SINK_CLASSES = {
    "webhook": "crawler.push.sinks.WebhookSink",
    "redis": "crawler.push.sinks.RedisStreamSink",
    "mysql": "crawler.push.mysql_sink.MySqlSink",
}
PUSH_DIR = str(data_dir / "push")  # cursors, and batches kept aside after failures
PUSH_BATCH_SIZE = 100  # items per delivery
PUSH_INTERVAL = 1.0  # seconds between looks at the store's change feed
PUSH_SETTLE = 1.0  # a write younger than this waits for the next look (see Store.changes)
PUSH_RETRY_TIMES = 8  # retries of a failed delivery before its batch is kept aside
PUSH_RETRY_BACKOFF = 1.0  # seconds before the first retry, doubled each time (capped at 60)
PUSH_CLOSE_TIMEOUT = 60.0  # at the end of the crawl, how long delivery may go on
PUSH_TIMEOUT = 10.0  # seconds one delivery may take
# Webhook: the URL and the HMAC secret come from these environment variables.
PUSH_WEBHOOK_URL_ENV = "PUSH_WEBHOOK_URL"
PUSH_WEBHOOK_SECRET_ENV = "PUSH_WEBHOOK_SECRET"
# Redis Streams: one stream per collection; delivered versions remembered this long.
PUSH_REDIS_URL = "redis://127.0.0.1:6379/0"
PUSH_REDIS_STREAM = "crawler:items:{collection}"
PUSH_REDIS_MAXLEN = 1_000_000
PUSH_REDIS_DEDUP_SECONDS = 7 * 86400
# MySQL / MariaDB: mysql://user:pass@host:port/db[?table_prefix=...] from this environment
# variable; a table per collection, columns from its item type (crawler/push/mysql_sink.py).
PUSH_MYSQL_URL_ENV = "PUSH_MYSQL_URL"

rule_safe = {"PUSH_BATCH_SIZE"}
minimums = {
    "PUSH_BATCH_SIZE": 1,
    "PUSH_INTERVAL": 0.01,
    "PUSH_SETTLE": 0,
    "PUSH_RETRY_TIMES": 0,
    "PUSH_RETRY_BACKOFF": 0,
    "PUSH_CLOSE_TIMEOUT": 0,
    "PUSH_TIMEOUT": 0.1,
}
