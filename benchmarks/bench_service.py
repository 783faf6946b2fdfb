"""Benchmark the data service over HTTP (``scrapy serve`` in its own process, a keep-alive
client), each figure beside a baseline measured in the same run:

1. items API: a filtered (``f.tag=...``), sorted (``-price``) page of 50 from a 1,000,000-item
   SQLite collection, every page of the filter walked by keyset cursor (deep pages included)
   and the first pages of the unfiltered sort; p50/p95/max. Baseline: the same pages as
   ``LIMIT 50 OFFSET n`` straight in SQLite (the deep-OFFSET listing keyset paging replaces).
2. export: the whole collection streamed as JSON Lines; the service's peak RSS (VmHWM) against
   its RSS at rest before the export.
3. overview: ``GET /api/rules`` plus the 1,000 runs (``GET /api/runs?limit=500``, twice);
   baseline: reading the same 1,000 run records straight from the store.

    .venv/bin/python benchmarks/bench_service.py [--items 1000000] [--db PATH] [--runs 1000]

The collection is built once into ``--db`` (default: under the system temp dir) and reused.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from crawler.store import open_store  # noqa: E402
from tests.net import free_port, wait_for_port  # noqa: E402

TAGS = [f"tag{i}" for i in range(20)]


def build(db: Path, n: int, runs: int) -> None:
    uri = f"sqlite:///{db}"
    with open_store(uri) as store:
        have = store.count("books")
    if have not in (0, n):  # another size: start again
        for path in db.parent.glob(db.name + "*"):
            path.unlink()
        have = 0
    with open_store(uri) as store:
        if have != n:
            rng = random.Random(7)
            started = time.perf_counter()
            batch = 20_000
            for start in range(0, n, batch):
                items = [
                    {
                        "url": f"https://shop.example/p/{i}",
                        "title": f"Product {i}",
                        "price": round(rng.uniform(1, 1000), 2),
                        "tag": TAGS[i % len(TAGS)],
                        "stock": i % 50,
                        "_crawled_at": f"2026-01-{1 + i % 28:02d}T00:00:00+00:00",
                    }
                    for i in range(start, min(n, start + batch))
                ]
                store.upsert_many("books", items, ("url",))
            print(f"built {n:,} items in {time.perf_counter() - started:.0f} s")
        if len(store.runs(limit=runs + 1)) < runs:
            stats = {f"downloader/response_status_count/{c}": 10 for c in range(200, 260)}
            for i in range(runs):
                store.record_run(
                    {
                        "run_id": f"bench-{i:05d}",
                        "rule": ["sample_books", "sample_api", "books_toscrape"][i % 3],
                        "started_at": f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:00:{i % 60:02d}Z",
                        "finished_at": f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:05:00Z",
                        "finish_reason": "finished",
                        "exit_code": 0,
                        "pages": 100 + i,
                        "items": 90 + i,
                        "errors": i % 3,
                        "bans": i % 5,
                        "stats": stats,
                    }
                )


def serve(store_uri: str, tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = [sys.executable, "-m", "scrapy.cmdline", "serve", "--port", str(port)]
    for name, value in [
        ("STORE_URI", store_uri),
        ("SCHEDULE_DIR", str(tmp / "schedule")),
        ("SERVICE_DATA_DIR", str(tmp / "service")),
        ("SERVICE_TOKENS_FILE", str(tmp / "tokens.json")),
        ("LOG_LEVEL", "WARNING"),
        # the listing's fields: the filter and the sort (equality first), and the sort alone
        ("SERVICE_INDEXES", '{"books": [["tag", "price"], "price"]}'),
    ]:
        argv += ["-s", f"{name}={value}"]
    # every other default data path (alert state, logs, journal) in the temporary directory too
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRAWLER_DATA_DIR": str(tmp / "data")}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wait_for_port(port, timeout=60, process=proc)
    return proc, port


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return (
        f"p50 {statistics.median(values) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  "
        f"max {values[-1] * 1000:6.1f} ms  ({len(values)} requests)"
    )


def walk(client: httpx.Client, params: dict, pages: int) -> list[float]:
    times, cursor = [], None
    for _ in range(pages):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        started = time.perf_counter()
        answer = client.get("/api/collections/books/items", params=query)
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
        cursor = answer.json()["next"]
        if cursor is None:
            break
    return times


def offset_baseline(db: Path, pages: list[int], filtered: bool = True) -> list[tuple[int, float]]:
    conn = sqlite3.connect(db)
    price, tag = "json_extract(doc, '$.\"price\"')", "json_extract(doc, '$.\"tag\"')"
    where, args = (f"WHERE {tag} = ?", ["tag3"]) if filtered else ("", [])
    out = []
    for page in pages:
        started = time.perf_counter()
        conn.execute(
            f"SELECT doc FROM c_books {where} ORDER BY {price} DESC LIMIT 50 OFFSET ?",
            [*args, (page - 1) * 50],
        ).fetchall()
        out.append((page, time.perf_counter() - started))
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "bench_service.db")
    args = parser.parse_args()
    build(args.db, args.items, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = serve(f"sqlite:///{args.db}", Path(tmp))
        try:
            run(args, proc, port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run(args: argparse.Namespace, proc: subprocess.Popen, port: int) -> None:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    filtered = {"f.tag": "tag3", "sort": "-price", "limit": 50}
    started = time.perf_counter()
    client.get("/api/collections/books/items", params=filtered).raise_for_status()
    client.get("/api/collections/books/items", params={"sort": "-price"}).raise_for_status()
    print(
        f"first sorted requests (the service creates its indexes): {time.perf_counter() - started:.1f} s"
    )
    matches = args.items // len(TAGS)
    print(
        f"\n1. items API, {args.items:,} items, filter matching {matches:,}, sort -price, 50/page"
    )
    times = walk(client, filtered, matches // 50 + 1)
    print(f"   keyset, every filtered page (1..{len(times)}):  {ms(times)}")
    unfiltered = walk(client, {"sort": "-price", "limit": 50}, 400)
    print(f"   keyset, unfiltered sort, pages 1..{len(unfiltered)}:  {ms(unfiltered)}")
    both = times + unfiltered
    print(f"   all pages:                              {ms(both)}")
    pages = sorted({p for p in (1, 100, 500, len(times)) if p <= len(times)})
    for page, took in offset_baseline(args.db, pages):
        keyset = times[page - 1]
        print(
            f"   page {page:5d}: OFFSET baseline (SQLite alone) {took * 1000:7.1f} ms, "
            f"keyset over HTTP {keyset * 1000:6.1f} ms (x{took / keyset:.1f})"
        )
    deep = [p for p in (2_000, 10_000, args.items // 50) if p <= args.items // 50]
    for page, took in offset_baseline(args.db, deep, filtered=False):
        print(
            f"   unfiltered page {page:6d}: OFFSET baseline (SQLite alone) {took * 1000:7.1f} ms "
            f"(keyset pages cost the same at any depth: p95 above)"
        )

    print(f"\n2. export of {args.items:,} items as JSON Lines, streamed")
    rest = rss_kb(proc.pid, "VmRSS")
    started, size, lines = time.perf_counter(), 0, 0
    with client.stream("GET", "/api/collections/books/export", params={"format": "jsonl"}) as r:
        for chunk in r.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    took = time.perf_counter() - started
    peak = rss_kb(proc.pid, "VmHWM")
    print(f"   {lines:,} lines, {size / 1e6:.0f} MB in {took:.1f} s ({lines / took:,.0f} items/s)")
    print(
        f"   service RSS at rest {rest / 1024:.0f} MB (baseline), peak during the export "
        f"{peak / 1024:.0f} MB (x{peak / rest:.2f})"
    )

    print(f"\n3. overview: rules + {args.runs} runs")
    overview = []
    for _ in range(20):
        started = time.perf_counter()
        client.get("/api/rules").raise_for_status()
        first = client.get("/api/runs", params={"limit": 500}).json()
        client.get("/api/runs", params={"limit": 500, "cursor": first["next"]}).raise_for_status()
        overview.append(time.perf_counter() - started)
    direct = []
    with open_store(f"sqlite:///{args.db}") as store:
        for _ in range(20):
            started = time.perf_counter()
            store.runs(limit=args.runs)
            direct.append(time.perf_counter() - started)
    print(f"   service (3 requests):       {ms(overview)}")
    print(f"   baseline (store.runs only): {ms(direct)}")


if __name__ == "__main__":
    main()
