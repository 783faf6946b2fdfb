"""A thousand rules: checking them and listing them, each beside a baseline in the same run.

    .venv/bin/python benchmarks/bench_many_rules.py [--sites 1000] [--requests 40]

1. ``scrapy validate`` of a site table of ``--sites`` rows under one template (target: under
   5 s), beside ``scrapy validate`` of the one shipped rule ``sample_books`` (the command's own
   start-up, which every run pays).
2. The overview API, ``GET /api/rules`` (a page of 50, a search, a tag filter, a status filter),
   on ``scrapy serve`` over the shipped rules plus the table, with a run recorded for every
   other site: p50 and p95 (target p95 <= 300 ms), beside the same requests on the shipped
   rules alone (the overview before a hundred sites).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from crawler.store import open_store  # noqa: E402
from tests.crawler.service.test_service_overview import site_table  # noqa: E402
from tests.net import free_port, wait_for_port  # noqa: E402

QUERIES = [{}, {"q": "gov_04"}, {"tag": "north"}, {"status": "finished"}, {"offset": 500}]


def project(root: Path, sites: int) -> Path:
    rules = root / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("fixtures"))
    if sites:
        site_table(rules, sites)
    return rules


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv[3:6])} failed:\n{proc.stderr[-2000:]}")
    return seconds


def validate(rules: Path, what: str) -> float:
    cmd = [sys.executable, "-m", "scrapy.cmdline", "validate", what, "-q"]
    return timed([*cmd, "-s", f"RULES_DIR={rules}"])


def overview(root: Path, rules: Path, sites: int, requests: int) -> list[float]:
    store_uri = f"sqlite:///{root / 'store.db'}"
    now = datetime.now(UTC)
    with open_store(store_uri) as store:
        for i in range(0, sites, 2):
            started = (now - timedelta(hours=i % 48)).isoformat()
            store.record_run({"run_id": f"r{i}", "rule": f"gov_{i:04d}", "status": "finished",
                              "started_at": started, "finished_at": started, "items": i})  # fmt: skip
    port = free_port()
    argv = [sys.executable, "-m", "scrapy.cmdline", "serve", "--port", str(port)]
    for name, value in [
        ("STORE_URI", store_uri),
        ("RULES_DIR", str(rules)),
        ("SCHEDULE_DIR", str(root / "schedule")),
        ("SERVICE_DATA_DIR", str(root / "service")),
        ("SERVICE_TOKENS_FILE", str(root / "tokens.json")),
        ("LOG_LEVEL", "WARNING"),
    ]:
        argv += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRAWLER_DATA_DIR": str(root / "data")}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=60, process=proc)
        times = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            client.get("/api/rules").raise_for_status()  # the first compile of the rules
            for n in range(requests):
                params = QUERIES[n % len(QUERIES)]
                started = time.perf_counter()
                answer = client.get("/api/rules", params=params)
                times.append(time.perf_counter() - started)
                answer.raise_for_status()
        return times
    finally:
        proc.terminate()
        proc.wait(10)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40)
    opts = parser.parse_args()
    problems = []
    with tempfile.TemporaryDirectory(prefix="bench-many-rules-") as tmp:
        big, small = Path(tmp) / "big", Path(tmp) / "small"
        big_rules, small_rules = project(big, opts.sites), project(small, 0)
        table = validate(big_rules, "gov")
        one = validate(small_rules, "sample_books")
        print(f"1. scrapy validate: {opts.sites}-row table {table:.2f} s, one rule {one:.2f} s "
              f"(ratio {table / one:.2f}; target: the table under 5 s)")  # fmt: skip
        if table >= 5:
            problems.append(f"validate of the table took {table:.2f} s")
        many = overview(big, big_rules, opts.sites, opts.requests)
        few = overview(small, small_rules, 0, opts.requests)
        print(f"2. GET /api/rules, {opts.sites + 11} rules: p50 {statistics.median(many) * 1000:.0f} ms, "
              f"p95 {p95(many) * 1000:.0f} ms; the 11 shipped rules: p50 "
              f"{statistics.median(few) * 1000:.0f} ms, p95 {p95(few) * 1000:.0f} ms "
              f"(p95 ratio {p95(many) / p95(few):.2f}; target p95 <= 300 ms)")  # fmt: skip
        if p95(many) > 0.3:
            problems.append(f"the overview's p95 is {p95(many) * 1000:.0f} ms")
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
