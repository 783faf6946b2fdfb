"""Benchmark the PostgreSQL store on a real server (Debian's, started in a temp dir on a free
loopback port, as the tests do), each figure beside a baseline measured in the same run:

1. upserts: ``Store.upsert_many`` in batches of ``STORE_BATCH_SIZE`` (500) against a plain
   psycopg ``executemany`` of the same rows (``INSERT INTO t (key, doc) VALUES (%s, %s)`` into
   a table keyed by the same text, JSONB documents, one transaction per batch): items per
   second, and the ratio. Pass 1: all new; pass 2: the same items again (all unchanged; the
   baseline repeats its inserts as ``ON CONFLICT DO UPDATE``).
2. the items API (``scrapy serve`` in its own process over HTTP, a keep-alive client) on a
   1,000,000-item collection: a filtered (``f.tag=``), sorted (``-price``) page of 50, every
   page of the filter walked by keyset cursor (deep pages included), plus the first pages of
   the unfiltered sort: p50/p95/max; baseline: the same page read as ``LIMIT 50 OFFSET n``
   straight in PostgreSQL.
3. text search (``q=``) over the API: English words and Chinese words of 2 and 4
   characters, p50/p95.

    .venv/bin/python benchmarks/bench_postgres.py [--upserts 100000] [--items 1000000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from benchmarks.bench_service import TAGS, ms, serve, walk  # noqa: E402
from crawler.store import open_store  # noqa: E402
from crawler.store.postgres_schema import field_expr  # noqa: E402
from tests.dbservers import PostgresServer  # noqa: E402

BATCH = 500
WORDS = ["红色连衣裙", "夏季新款", "蓝色衬衫", "Organic cotton", "summer dress", "leather shoe"]


def items(start: int, stop: int, version: int = 0) -> list[dict]:
    rng = random.Random(start)
    return [
        {
            "url": f"https://shop.example/p/{i}",
            "title": f"Product {i} {WORDS[i % len(WORDS)]}" + (f" v{version}" if version else ""),
            "price": round(rng.uniform(1, 1000), 2),
            "tag": TAGS[i % len(TAGS)],
            "stock": i % 50,
            "in_stock": i % 7 != 0,
            "tags": ["shop", f"category-{i % 20}"],
            "_crawled_at": f"2026-01-{1 + i % 28:02d}T00:00:00+00:00",
        }
        for i in range(start, stop)
    ]


def store_pass(uri: str, n: int, collection: str) -> float:
    with open_store(uri) as store:
        started = time.perf_counter()
        for start in range(0, n, BATCH):
            store.upsert_many(collection, items(start, min(n, start + BATCH)), ("url",))
        return n / (time.perf_counter() - started)


def plain_pass(uri: str, n: int, table: str, upsert: bool) -> float:
    from psycopg.types.json import Jsonb

    conflict = " ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc" if upsert else ""
    with psycopg.connect(uri) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, doc JSONB NOT NULL)"
        )
        conn.commit()
        started = time.perf_counter()
        for start in range(0, n, BATCH):
            rows = [(d["url"], Jsonb(d)) for d in items(start, min(n, start + BATCH))]
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} (key, doc) VALUES (%s, %s){conflict}", rows)
        return n / (time.perf_counter() - started)


def upserts(server: PostgresServer, n: int, rounds: int) -> None:
    """Store and plain passes interleaved, ``rounds`` times each (a shared machine's load
    changes from minute to minute): the median of each, and the median of the ratios."""
    print(f"1. upserts of {n:,} items in batches of {BATCH}, {rounds} rounds interleaved")
    uri = server.uri("upserts")
    for label, again in (("all new", False), ("all unchanged", True)):
        ours, plain = [], []
        for r in range(rounds):  # again: the same items into what the "all new" round r wrote
            ours.append(store_pass(uri, n, f"bench{r}"))
            plain.append(plain_pass(uri, n, f"plain{r}", upsert=again))
        ratios = [o / p for o, p in zip(ours, plain, strict=True)]
        print(
            f"   {label:14s} store {statistics.median(ours):9,.0f} items/s   plain executemany "
            f"{statistics.median(plain):9,.0f} items/s   ratio x{statistics.median(ratios):.2f} "
            f"(rounds: {', '.join(f'x{x:.2f}' for x in ratios)})"
        )


def build(uri: str, n: int) -> None:
    with open_store(uri) as store:
        if store.count("books") == n:
            return
        started = time.perf_counter()
        for start in range(0, n, 5_000):
            batch = items(start, min(n, start + 5_000))
            for doc in batch:
                doc["url"] = doc["url"].replace("/p/", "/b/")
            store.upsert_many("books", batch, ("url",))
        print(f"   built {n:,} items in {time.perf_counter() - started:.0f} s")


def offset_baseline(uri: str, pages: list[int]) -> list[tuple[int, float]]:
    tag, price = field_expr("tag"), field_expr("price")
    out = []
    with psycopg.connect(uri) as conn:
        (table,) = conn.execute(
            "SELECT table_name FROM _collections WHERE name = 'books'"
        ).fetchone()
        for page in pages:
            started = time.perf_counter()
            # the expressions the store's index holds: OFFSET walks the index to its page
            conn.execute(
                f'SELECT doc FROM "{table}" WHERE {tag} = %s::jsonb '
                f"ORDER BY {price} DESC, _id DESC LIMIT 50 OFFSET %s",
                ['"tag3"', (page - 1) * 50],
            ).fetchall()
            out.append((page, time.perf_counter() - started))
    return out


def api(server: PostgresServer, n: int) -> None:
    uri = server.uri("items")
    print(f"\n2. items API on {n:,} items in PostgreSQL")
    build(uri, n)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = serve(uri, Path(tmp))
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
            filtered = {"f.tag": "tag3", "sort": "-price", "limit": 50}
            started = time.perf_counter()
            client.get("/api/collections/books/items", params=filtered).raise_for_status()
            client.get("/api/collections/books/items", params={"sort": "-price"}).raise_for_status()
            client.get("/api/collections/books/items", params={"q": "dress"}).raise_for_status()
            print(f"   first requests (indexes built): {time.perf_counter() - started:.1f} s")
            times = walk(client, filtered, n // len(TAGS) // 50 + 1)
            print(f"   keyset, every filtered page (1..{len(times)}): {ms(times)}")
            unfiltered = walk(client, {"sort": "-price", "limit": 50}, 400)
            print(f"   keyset, unfiltered sort, pages 1..{len(unfiltered)}: {ms(unfiltered)}")
            print(f"   all pages: {ms(times + unfiltered)}")
            pages = sorted({p for p in (1, 100, 500, len(times)) if p <= len(times)})
            for page, took in offset_baseline(uri, pages):
                print(
                    f"   page {page:5d}: OFFSET baseline (PostgreSQL alone) {took * 1000:7.1f} ms,"
                    f" keyset over HTTP {times[page - 1] * 1000:6.1f} ms"
                )
            print("\n3. text search (q=), 50 per page")
            for query in ("dress", "Organic cotton", "红色", "夏季新款", "leather tag3"):
                took = []
                for _ in range(20):
                    started = time.perf_counter()
                    answer = client.get("/api/collections/books/items", params={"q": query})
                    took.append(time.perf_counter() - started)
                    answer.raise_for_status()
                print(f"   q={query!r:18s} {ms(took)}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upserts", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-api", action="store_true", help="the upserts only")
    args = parser.parse_args()
    server = PostgresServer().start()
    try:
        with psycopg.connect(server.uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE upserts")
            conn.execute("CREATE DATABASE items")
        upserts(server, args.upserts, args.rounds)
        if not args.skip_api:
            api(server, args.items)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
