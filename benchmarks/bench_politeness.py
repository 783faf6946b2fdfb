"""One politeness budget per host, shared by four processes through Redis.

    .venv/bin/python benchmarks/bench_politeness.py [--processes 4] [--rate 5] [--seconds 20]

Four crawls of the sample site (each its own process, as four workers or four rules would be)
share one host. The site records the arrival time of every request. Three runs, side by side, in alternating
order, ``--rounds`` times (medians):

- **budget**: every process with ``HOST_RATE=--rate`` and the budget in a throwaway Redis. The
  rate the host saw while all four ran: target ``rate ± 10 %``, i.e. at least 90 % of the budget
  used and never more than 110 %.
- **off**: the same four processes with no budget (the platform's downloader, which is then
  Scrapy's own), against **plain**: the four run with Scrapy's downloader named outright
  (``DOWNLOADER=scrapy.core.downloader.Downloader``). Target: off / plain >= 0.9 (the budget,
  off, does not slow a crawl).

Every crawl stops after ``--seconds`` (``CLOSESPIDER_TIMEOUT``); the window measured is from the
moment the last process made its first request to the moment the first one stopped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_server import REDIS_SERVER, RedisServer  # noqa: E402
from tests.sample_site import SampleSite  # noqa: E402

HOST = "127.0.0.1"


def crawl_all(
    site: SampleSite, processes: int, seconds: float, work: Path, settings: list[str]
) -> float:
    """Run ``processes`` crawls at once; the requests per second the host saw while all ran."""
    assert site.recorder is not None
    site.recorder.times.clear()
    site.recorder.requests.clear()
    procs, logs, starts = [], [], []
    for n in range(processes):
        out = work / f"p{n}"
        out.mkdir(parents=True)
        cmd = [
            sys.executable, "-m", "scrapy.cmdline", "crawl", "sample_books", "-a", f"site={site.url}",
            "-s", f"CLOSESPIDER_TIMEOUT={seconds}", "-s", "LOG_LEVEL=INFO",
            "-s", f"STORE_URI=sqlite:///{out / 'store.db'}", "-s", f"RUN_LOG_DIR={out / 'logs'}",
            "-s", "INCREMENTAL_STATE_URI=", "-s", f"STORE_SPILL_DIR={out / 'spill'}",
            *[arg for s in settings for arg in ("-s", s)],
        ]  # fmt: skip
        log = open(out / "crawl.log", "w")  # noqa: SIM115 - closed below
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CRAWLER_DATA_DIR": str(out / "data")}
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log))
        logs.append(log)
        starts.append(time.monotonic())
    first_exit = None
    while any(p.poll() is None for p in procs):
        if first_exit is None and any(p.poll() is not None for p in procs):
            first_exit = time.monotonic()
        time.sleep(0.05)
    first_exit = first_exit or time.monotonic()
    for log in logs:
        log.close()
    # CLOSESPIDER_TIMEOUT ends a crawl as interrupted (exit 8): that is how these stop
    failed = [n for n, p in enumerate(procs) if p.returncode not in (0, 8)]
    if failed:
        tail = (work / f"p{failed[0]}" / "crawl.log").read_text()[-2000:]
        raise SystemExit(f"crawl {failed[0]} failed (exit {procs[failed[0]].returncode}):\n{tail}")
    times = sorted(site.recorder.times.get(HOST, []))
    # from when every process is surely crawling (its start-up done) to the first stop
    begin = max(starts) + 3.0
    window = [t for t in times if begin <= t <= first_exit - 0.5]
    if len(window) < 10:
        raise SystemExit(f"too few requests in the measured window ({len(window)})")
    return (len(window) - 1) / (window[-1] - window[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    if REDIS_SERVER is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    problems = []
    with tempfile.TemporaryDirectory(prefix="bench-politeness-") as tmp:
        redis = RedisServer(Path(tmp)).start()
        site = SampleSite(books=5000, latency=0.02, record_hosts=True)
        site.start()
        try:
            figures: dict[str, list[float]] = {"budget": [], "off": [], "plain": []}
            for round_no in range(opts.rounds):
                runs = {
                    "budget": [f"HOST_RATE={opts.rate}", f"HOST_BUDGET_REDIS_URL={redis.url}"],
                    "off": [],
                    "plain": ["DOWNLOADER=scrapy.core.downloader.Downloader"],
                }
                order = (
                    ["budget", "off", "plain"] if round_no % 2 == 0 else ["plain", "off", "budget"]
                )
                for name in order:  # alternated, so that machine noise hits both
                    settings = runs[name]
                    work = Path(tmp) / f"{round_no}-{name}"
                    rate = crawl_all(site, opts.processes, opts.seconds, work, settings)
                    figures[name].append(rate)
                    print(
                        f"round {round_no + 1} {name:<6} {rate:8.2f} requests/s at the host",
                        flush=True,
                    )
        finally:
            site.stop()
            redis.stop()
    budget = statistics.median(figures["budget"])
    off, plain = statistics.median(figures["off"]), statistics.median(figures["plain"])
    use = budget / opts.rate
    print(
        f"budget {opts.rate:g}/s shared by {opts.processes} processes: the host saw {budget:.2f}/s "
        f"({use:.1%} of the budget; target 90-110 %)"
    )
    print(
        f"budget off: {off:.1f}/s against Scrapy's downloader {plain:.1f}/s, ratio "
        f"{off / plain:.3f} (target >= 0.9)"
    )
    if not 0.9 <= use <= 1.1:
        problems.append(f"the shared rate is {use:.1%} of the budget")
    if off / plain < 0.9:
        problems.append(f"with the budget off the crawls ran at {off / plain:.1%} of Scrapy's")
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
