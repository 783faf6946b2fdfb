"""Benchmark the embedded store: batched upserts vs a naive one-statement-per-item baseline.

    .venv/bin/python benchmarks/bench_store.py [--items 100000] [--batch 500] [--uri URI]

Pass 1 inserts every item (all new), pass 2 writes the same items again (all unchanged),
pass 3 changes 10% of them. The naive baseline does one ``INSERT OR REPLACE`` per item and
commits per batch, on the same SQLite settings (WAL, synchronous=NORMAL), without hashing,
history or change detection. ``--uri`` benchmarks another store (e.g. a real MongoDB); the
baseline always runs on SQLite.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.store import Store, open_store  # noqa: E402


def make_items(n: int, version: int = 0, changed_every: int = 0) -> list[dict]:
    items = []
    for i in range(n):
        changed = changed_every and i % changed_every == 0
        items.append(
            {
                "url": f"https://shop.test/product/{i}",
                "title": f"Product number {i}" + (f" v{version}" if changed else ""),
                "price": round(9.99 + i % 500, 2),
                "currency": "EUR",
                "in_stock": i % 7 != 0,
                "rating": (i % 50) / 10,
                "tags": ["shop", f"category-{i % 20}", f"brand-{i % 97}"],
                "description": "A perfectly ordinary product description. " * 3,
                "_url": f"https://shop.test/list?page={i // 20}",
                "_rule": "shop",
                "_page": "list",
                "_crawled_at": f"2026-01-0{1 + version}T00:00:00Z",
            }
        )
    return items


def batches(items: list[dict], size: int) -> list[list[dict]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def store_pass(store: Store, items: list[dict], size: int) -> tuple[float, str]:
    totals = [0, 0, 0]

    def run() -> None:
        for batch in batches(items, size):
            r = store.upsert_many("products", batch, ("url",))
            totals[0] += r.new
            totals[1] += r.updated
            totals[2] += r.unchanged

    return timed(run), f"new={totals[0]} updated={totals[1]} unchanged={totals[2]}"


def naive_pass(conn: sqlite3.Connection, items: list[dict], size: int) -> float:
    def run() -> None:
        for batch in batches(items, size):
            for item in batch:
                conn.execute(
                    "INSERT OR REPLACE INTO products (url, doc) VALUES (?, ?)",
                    (item["url"], json.dumps(item)),
                )
            conn.commit()

    return timed(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--uri", help="store to benchmark (default: a temporary SQLite file)")
    args = parser.parse_args()
    n, size = args.items, args.batch
    passes = [
        ("pass 1: all new", make_items(n)),
        ("pass 2: all unchanged", make_items(n)),
        ("pass 3: 10% changed", make_items(n, version=1, changed_every=10)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        uri = args.uri or f"sqlite:///{Path(tmp) / 'bench.db'}"
        naive = sqlite3.connect(Path(tmp) / "naive.db")
        naive.execute("PRAGMA journal_mode=WAL")
        naive.execute("PRAGMA synchronous=NORMAL")
        naive.execute("CREATE TABLE products (url TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        print(f"{n} items, batches of {size}; store: {open_store(uri).display_uri}")
        print(f"{'':24}{'store items/s':>15}{'naive items/s':>15}{'ratio':>8}  store counts")
        with open_store(uri) as store:
            for label, items in passes:
                seconds, counts = store_pass(store, items, size)
                naive_seconds = naive_pass(naive, items, size)
                rate, naive_rate = n / seconds, n / naive_seconds
                print(
                    f"{label:<24}{rate:>15,.0f}{naive_rate:>15,.0f}{rate / naive_rate:>7.2f}x"
                    f"  {counts}"
                )
        naive.close()


if __name__ == "__main__":
    main()
