"""Write access to the crawl's Redis is not code execution, and tokens never go into it.

- The queue holds JSON (crawler/distributed/request_json.py): a pickle that would create a file
  when unpickled, written into the queue by an "attacker", is counted and dropped by a real
  worker, which crawls on; so are entries of any other wrong shape (a class to import, a URL
  that is not http(s), a callback the spider does not define), each kind logged once.
- A distributed crawl of a WeChat-style source (its token in the query) through the loopback
  OAuth server, with expired answers renewed and a redirect echoing the token, both through the
  queue, paused with SCHEDULER_PERSIST and resumed: every command any client sent to Redis
  (MONITOR) and every key's value, sampled during the crawl, while paused and after, holds no
  token but the token store's own key, and every queue entry and lease is JSON.
- Only the JSON serializer is accepted (the add-on and the queue refuse pickle).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import redis
from scrapy import Request
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from scrapy_redis import picklecompat

from crawler.distributed import request_json
from crawler.distributed.addon import DistributedCrawl
from crawler.distributed.leased_queue import LeasedPriorityQueue, QueueProblems
from crawler.distributed.redis_keys import CrawlKeys
from crawler.oauth.authorize import authorize
from crawler.oauth.redis_token_store import RedisTokenStore
from tests.crawler.crawl import ROOT, stat
from tests.crawler.distributed.test_workers import rule_spider, seed_in_process
from tests.crawler.distributed.workers import Workers
from tests.crawler.oauth.conftest import make_server  # noqa: F401 - a fixture
from tests.crawler.oauth.crawling import (
    WITH_A_REDIRECT,
    crawl,
    crawl_command,
    environment,
    leaks,
)
from tests.crawler.oauth.support import client_for, person_opening, wechat_spec
from tests.crawler.oauth.test_crawls import ALL_IDS, wechat_secrets
from tests.oauth_servers.wechat import WeChatServer
from tests.sample_site.data import catalogue
from tests.settings import project_settings

BOOKS = 20


class Marker:
    """Unpickled, it creates a file: what an attacker's payload would do (run anything)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def entry(site: str, **changes) -> bytes:
    """A JSON entry of the right format, with ``changes``."""
    d = {"v": 1, "url": f"{site}/", "callback": "parse_page", "errback": None, "headers": {},
         "body": "", "cookies": {}, "meta": {}, "encoding": "utf-8", "flags": [], "cb_kwargs": {},
         "method": "GET", "priority": 0, "dont_filter": True, **changes}  # fmt: skip
    return json.dumps(d).encode()


@pytest.fixture
def workers(tmp_path, redis_url) -> Iterator[Workers]:
    started = Workers(tmp_path, redis_url)
    yield started
    started.stop_all()


def test_a_pickle_written_into_the_queue_is_dropped_never_run(
    workers, make_sample_site, redis_url, tmp_path
):
    site = make_sample_site(books=BOOKS).url
    control, marker = tmp_path / "control", tmp_path / "marker"
    pickle.loads(pickle.dumps({"url": site, "meta": {"x": Marker(control)}}))
    assert control.exists()  # the payload does run code when unpickled
    payload = pickle.dumps({"url": f"{site}/", "meta": {"x": Marker(marker)}}, protocol=4)
    bad = {
        payload: "pickle data",
        pickle.dumps(
            {"url": f"{site}/x", "meta": {"x": Marker(marker)}}, protocol=2
        ): "pickle data",
        b"{not json": "not JSON",
        entry(site, _class="os.system"): "_class",
        entry(site, url="file:///etc/passwd"): "url",
        entry(site, callback="__init__"): "callback: not a method name",
        entry(site, callback="start"): "is not a callback of the spider",
    }
    client = redis.Redis.from_url(redis_url)
    seed_in_process(client, site)
    (good,) = client.zrange("sample_books:requests", 0, -1)
    assert json.loads(good)["v"] == 1 and good[:1] != b"\x80"  # the seed itself is JSON
    client.zadd("sample_books:requests", {data: -100 for data in bad})  # taken first
    worker = workers.start("sample_books", "-a", f"site={site}")
    assert worker.wait(120) == 0, worker.log[-3000:]

    assert not marker.exists()
    log = worker.log
    assert stat(log, "distributed/bad_entries") == len(bad)
    for reason in set(bad.values()):  # each kind of bad entry logged once, with its reason
        lines = [line for line in log.splitlines() if "dropped a queue entry" in line]
        assert sum(reason in line for line in lines) == 1, (reason, lines)
    assert "Traceback" not in log
    books = {f"{site}/book/{book.id}.html" for book in catalogue(BOOKS)}
    assert books <= set(worker.crawled())  # the crawl went on
    assert client.zcard("sample_books:requests") == 0
    assert not client.keys("sample_books:inflight:*")  # the bad entries' leases ended too


def test_the_queue_writes_json_and_leaves_out_what_is_not_data(redis_url):
    site = "http://127.0.0.1:9"
    spider = rule_spider(site)
    client = redis.Redis.from_url(redis_url)
    stats = MemoryStatsCollector(get_crawler())
    keys = CrawlKeys.for_rule("sample_books")
    queue = LeasedPriorityQueue(
        client, spider, keys.queue, keys=keys, worker="w1", problems=QueueProblems(stats)
    )
    request = Request(
        f"{site}/book/1.html", callback=spider.parse_page, errback=spider.on_error,
        meta={"rule_page": "book", "pair": (1, 2), "lock": threading.Lock()}, priority=10,
    )  # fmt: skip
    queue.push(request)
    (data,) = client.zrange(keys.queue, 0, -1)
    assert json.loads(data)["meta"] == {"rule_page": "book", "pair": [1, 2]}
    assert stats.get_value("distributed/meta_refused") == 1
    client.zadd(keys.queue, {b"\x80\x04K\x01.": -20, b"[]": -20})
    back = queue.pop()
    assert back.url == request.url and back.callback == spider.parse_page
    assert back.errback == spider.on_error and back.priority == 10
    assert back.meta["pair"] == [1, 2] and "lock" not in back.meta
    assert stats.get_value("distributed/bad_entries") == 2
    assert client.hlen(keys.inflight("w1")) == 1  # the good one's lease only
    with pytest.raises(request_json.Unserializable):
        queue.push(Request(f"{site}/x", cb_kwargs={"lock": threading.Lock()}))
    # handed back (its output could not be made durable): queued again at its priority, once
    token = back.meta["distributed_lease"]
    assert queue.requeue(token) and not queue.requeue(token)
    assert client.hlen(keys.inflight("w1")) == 0
    assert client.zrange(keys.queue, 0, -1, withscores=True) == [(data, -10.0)]


@pytest.mark.parametrize("serializer", ["scrapy_redis.picklecompat", "pickle", "json"])
def test_a_distributed_crawl_accepts_no_serializer_but_json(serializer):
    settings = Settings(project_settings(REDIS_URL="redis://127.0.0.1:9/0"))
    DistributedCrawl().update_settings(settings)  # the default: JSON
    assert settings["SCHEDULER_SERIALIZER"] == "crawler.distributed.request_json"
    settings = Settings(project_settings(REDIS_URL="redis://127.0.0.1:9/0"))
    settings.set("SCHEDULER_SERIALIZER", serializer, priority="cmdline")  # as -s would
    with pytest.raises(ValueError, match="SCHEDULER_SERIALIZER must be"):
        DistributedCrawl().update_settings(settings)
    with pytest.raises(ValueError, match="JSON entries only"):
        LeasedPriorityQueue(None, None, "k", picklecompat, keys=CrawlKeys.for_rule("r"))


class Watch:
    """Everything clients send to Redis (MONITOR), and every queue entry and lease seen by
    sampling the keys, while a crawl runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self.entries: set[bytes] = set()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=f, daemon=True) for f in (self._monitor, self._sample)
        ]

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        time.sleep(0.2)  # MONITOR is on before the crawl sends anything
        return self

    def _monitor(self) -> None:
        with redis.Redis.from_url(self.url).monitor() as monitor:
            for command in monitor.listen():
                if self._stop.is_set():
                    return
                self.commands.append(command["command"])

    def _sample(self) -> None:
        deadline = time.monotonic() + 150
        while not self._stop.is_set() and time.monotonic() < deadline:
            for key in self.client.scan_iter(count=1000):
                kind = self.client.type(key)
                if kind == b"zset" and key.endswith(b":requests"):
                    self.entries.update(self.client.zrange(key, 0, -1))
                elif kind == b"hash" and b":inflight:" in key:
                    self.entries.update(self.client.hvals(key))
            time.sleep(0.02)

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self.client.ping()  # wakes the monitor
        for thread in self._threads:
            thread.join(10)


def values_of(client: redis.Redis) -> dict[bytes, bytes]:
    """Every key's value, as bytes, whatever its type."""
    out = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            out[key] = client.get(key) or b""
        elif kind == b"hash":
            out[key] = b" ".join(k + b"=" + v for k, v in client.hgetall(key).items())
        elif kind == b"zset":
            out[key] = b" ".join(client.zrange(key, 0, -1))
        elif kind == b"set":
            out[key] = b" ".join(client.smembers(key))
        elif kind == b"list":
            out[key] = b" ".join(client.lrange(key, 0, -1))
    return out


def redis_holding(client: redis.Redis, secrets: set[str]) -> set[bytes]:
    """The keys whose value holds any of ``secrets``."""
    return {k for k, v in values_of(client).items() if any(s.encode() in v for s in secrets)}


def assert_entries_are_json_without(entries: Iterable[bytes], secrets: set[str]) -> None:
    for data in entries:
        assert data[:1] != b"\x80" and json.loads(data)["v"] == 1, data[:80]
        assert not [s for s in secrets if s.encode() in data]
        assert b"access_token" not in data and b"openid" not in data


def test_a_distributed_crawl_never_puts_the_token_into_redis_but_its_store(
    make_server,  # noqa: F811 - the fixture imported above
    redis_url,
    tmp_path,
):
    """A WeChat-style source (its token in the query), seeded with ``scrapy seed`` and crawled
    by real workers through Redis, with expired answers retried and a redirect echoing the
    token, both through the queue: the first worker paused half-way (SCHEDULER_PERSIST, the
    queue left full), a second one finishing the crawl.
    Every command sent to Redis (MONITOR), every queue entry and lease sampled while it ran,
    and every key's value when paused and after: no token but in the token store's own key,
    and every entry is JSON."""
    server = make_server(WeChatServer, auto_confirm=True, latency=0.05)
    server.wechat.expire_after_uses = 3  # expired answers: renewed, retried through the queue
    server.wechat.moved_to = server.url  # a redirect echoing the token, through the queue too
    spec = wechat_spec(server.url, openid_param="openid")
    store = RedisTokenStore.from_uri(redis_url, lock_timeout=10)
    authorize(client_for("wx", spec), store, credential="default", show=person_opening([]),
              timeout=20)  # fmt: skip
    settings = ("-s", "DISTRIBUTED_IDLE_TIMEOUT=1.5", "-s", "DISTRIBUTED_POLL_INTERVAL=0.2",
                "-s", "CONCURRENT_REQUESTS=2", "-s", "SCHEDULER_PERSIST=True")  # fmt: skip
    env = {"REDIS_URL": redis_url}
    client = redis.Redis.from_url(redis_url)
    secrets: set[str] = set()
    with Watch(redis_url) as watch:
        # seeded whole first (a seeding worker paused half-way would leave starts unseeded)
        seed = crawl_command(tmp_path, "seed", server.url, {"wx": spec}, pages="{1..8}",
                             rule=WITH_A_REDIRECT)  # fmt: skip
        out = seed.index("-O")
        seed[seed.index("crawl")], seed[out : out + 2] = "seed", []
        seeded = subprocess.run(seed, cwd=ROOT, capture_output=True, text=True, timeout=60,
                                env={**environment(), **env})  # fmt: skip
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        assert client.zcard("oauth_items:requests") == 9
        paused = crawl(tmp_path, server.url, {"wx": spec}, *settings, "-s", "CLOSESPIDER_PAGECOUNT=4",
                       name="paused", rule=WITH_A_REDIRECT, env=env)  # fmt: skip
        assert paused.records[-1]["finish_reason"] == "closespider_pagecount", paused.log[-3000:]
        # paused: what is left in Redis, the queue full, as another worker would find it
        secrets = wechat_secrets(server)
        left = client.zrange("oauth_items:requests", 0, -1)
        assert left, "the paused crawl left nothing queued"
        assert_entries_are_json_without(left, secrets)
        for key in client.scan_iter(match="oauth_items:inflight:*"):
            assert_entries_are_json_without(client.hvals(key), secrets)
        assert redis_holding(client, secrets) <= {b"oauth:token:wx/default"}
        run = crawl(tmp_path, server.url, {"wx": spec}, *settings, name="resumed",
                    rule=WITH_A_REDIRECT, env=env)  # fmt: skip
    assert run.returncode == 0, run.log[-3000:]
    assert {i["id"] for i in paused.items + run.items} == set(ALL_IDS)
    assert server.wechat.state["api_rejected"] >= 2  # retried through the Redis queue
    assert server.wechat.state["moved"] >= 1
    assert (paused.stat("oauth/redirects/scrubbed") or 0) + (
        run.stat("oauth/redirects/scrubbed") or 0
    ) >= 1
    secrets = wechat_secrets(server)
    for worker in (paused, run):
        assert "scheduler/enqueued/redis" in worker.log
        assert worker.stat("distributed/bad_entries") is None
        assert leaks(worker, secrets) == {}

    # what every client sent: the token only ever goes to the token store's key
    queued = [c for c in watch.commands if "oauth_items:requests" in c]
    assert len(queued) >= 9 + server.wechat.state["api_rejected"], watch.commands[:20]
    holding = Counter(c.split()[0] + " " + c.split()[1] for c in watch.commands
                      if any(s in c for s in secrets))  # fmt: skip
    assert set(holding) <= {"SET oauth:token:wx/default"}, holding
    # every entry seen in the queue and in leases during both runs: JSON, without the token
    assert watch.entries, "no queue entry was sampled"
    assert any(b"redirect_urls" in e for e in watch.entries)  # the redirect went through it
    assert any(b"retry_times" in e for e in watch.entries)  # and so did a retry
    assert_entries_are_json_without(watch.entries, secrets)
    # and every key's value after it
    assert redis_holding(client, secrets) <= {b"oauth:token:wx/default"}
    print(
        f"{len(watch.commands)} commands sent to Redis, {len(queued)} of them on the queue, "
        f"{sum(holding.values())} holding a token (the token store's SET); "
        f"{len(watch.entries)} distinct queue entries and leases sampled, none with a token; "
        f"{len(left)} entries left queued by the paused crawl; "
        f"{server.wechat.state['api_rejected']} expired answers retried"
    )
