"""Push sinks: where delivered items go. A sink's ``deliver(collection, entries)`` takes one
batch or raises; each entry is ``{"idempotency_key", "key", "version", "item"}``, the key
naming the item version (collection, item key, content hash), so a receiver that sees a batch
twice (a retry after a lost answer) can tell. ``deliver`` may return counts of its own
(``{"null_values": 2}``: stats ``push/<sink>/<name>``). A sink with ``declare(collection,
fields, key)`` is told the item type of each collection before the first delivery.

- :class:`WebhookSink` POSTs ``{"collection", "items": [...]}`` as JSON, with
  ``X-Signature: sha256=<hex HMAC-SHA256 of the body>`` and ``Idempotency-Key`` (the batch's);
  any answer but 2xx is a failure.
- :class:`RedisStreamSink` XADDs each entry to ``PUSH_REDIS_STREAM`` (one stream per
  collection) in one Lua script that also remembers delivered versions, so a batch delivered
  twice adds each version once.
- :class:`~crawler.push.mysql_sink.MySqlSink` upserts into a MySQL/MariaDB table per
  collection, typed from the item type (:mod:`crawler.push.mysql_sink`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.request
from collections.abc import Sequence
from typing import Any

from crawler.store import dumps

Entry = dict[str, Any]


def idempotency_key(collection: str, key: str, version: str) -> str:
    """>>> idempotency_key("books", '["u1"]', "abc")[:12]
    '7b1ec30a5aa3'
    """
    raw = f"{collection}\0{key}\0{version}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def entry_of(collection: str, doc: dict[str, Any]) -> Entry:
    key, version = str(doc.get("_key", "")), str(doc.get("_hash", ""))
    return {
        "idempotency_key": idempotency_key(collection, key, version),
        "key": key,
        "version": version,
        "item": doc,
    }


class SinkNotConfigured(ValueError):
    """A sink asked for without what it needs; the message says what."""


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    @classmethod
    def from_settings(cls, settings: Any) -> WebhookSink:
        variable = settings.get("PUSH_WEBHOOK_URL_ENV")
        url = os.environ.get(variable, "")
        if not url.startswith(("http://", "https://")):
            raise SinkNotConfigured(f"${variable} is not set to an http(s) URL")
        secret = os.environ.get(settings.get("PUSH_WEBHOOK_SECRET_ENV"), "")
        return cls(url, secret, settings.getfloat("PUSH_TIMEOUT"))

    def deliver(self, collection: str, entries: Sequence[Entry]) -> None:
        body = dumps({"collection": collection, "items": list(entries)}).encode("utf-8")
        batch = hashlib.sha256(
            "\0".join(e["idempotency_key"] for e in entries).encode()
        ).hexdigest()[:32]
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": batch}
        if self.secret:
            digest = hmac.new(self.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
            headers["X-Signature"] = f"sha256={digest}"
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
            answer.read(65536)  # a non-2xx answer raised HTTPError already

    def close(self) -> None:
        return None


_XADD_ONCE = """
local added = 0
for i = 3, #ARGV, 3 do
  if redis.call('SET', KEYS[1] .. ':seen:' .. ARGV[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
               'idempotency_key', ARGV[i], 'key', ARGV[i + 1], 'item', ARGV[i + 2])
    added = added + 1
  end
end
return added
"""


class RedisStreamSink:
    name = "redis"

    def __init__(self, url: str, stream: str, maxlen: int, dedup_seconds: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self.stream, self.maxlen, self.dedup_seconds = stream, maxlen, dedup_seconds
        self.script = self.client.register_script(_XADD_ONCE)

    @classmethod
    def from_settings(cls, settings: Any) -> RedisStreamSink:
        return cls(
            settings.get("PUSH_REDIS_URL"),
            settings.get("PUSH_REDIS_STREAM"),
            settings.getint("PUSH_REDIS_MAXLEN"),
            settings.getint("PUSH_REDIS_DEDUP_SECONDS"),
        )

    def stream_for(self, collection: str) -> str:
        return self.stream.replace("{collection}", collection)

    def deliver(self, collection: str, entries: Sequence[Entry]) -> None:
        args: list[Any] = [self.dedup_seconds, self.maxlen]
        for entry in entries:
            args += [entry["idempotency_key"], entry["key"], json.dumps(entry["item"], default=str)]
        self.script(keys=[self.stream_for(collection)], args=args)

    def close(self) -> None:
        self.client.close()
