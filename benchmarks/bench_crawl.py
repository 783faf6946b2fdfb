"""Rule spider vs hand-written spider, side by side, on a large generated copy of the sample site.

    .venv/bin/python benchmarks/bench_crawl.py [--books 5000] [--rounds 2]

Each crawl runs in a fresh process against the same sample-site process; runs alternate
(rule, hand-written, rule, ...) so machine noise hits both. Prints pages/s per run (and pages per CPU-second of the crawler process, which shared-machine
noise disturbs less), the median of each, and the ratio rule / hand-written (target: >= 0.95).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.commands.demo import start_sample_site  # noqa: E402


def run(which: str, site: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_spider", which, site],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{which} crawl failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--books", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    site, url = start_sample_site(opts.books)
    rates: dict[str, list[float]] = {"rule": [], "handwritten": []}
    cpu_rates: dict[str, list[float]] = {"rule": [], "handwritten": []}
    try:
        for round_no in range(1, opts.rounds + 1):
            for which in ("rule", "handwritten") if round_no % 2 else ("handwritten", "rule"):
                result = run(which, url)
                rate = result["pages"] / result["seconds"]
                cpu_rate = result["pages"] / result["cpu_seconds"]
                rates[which].append(rate)
                cpu_rates[which].append(cpu_rate)
                print(
                    f"round {round_no} {which:<12} {result['pages']:>6} pages {result['items']:>6} items "
                    f"{result['seconds']:7.2f}s {rate:8.1f} pages/s {cpu_rate:8.1f} pages/cpu-s",
                    flush=True,
                )
    finally:
        site.terminate()
        site.wait(timeout=10)
    rule, hand = statistics.median(rates["rule"]), statistics.median(rates["handwritten"])
    print(
        f"median pages/s: rule spider {rule:.1f}, hand-written {hand:.1f}, ratio {rule / hand:.3f} (target >= 0.95)"
    )
    rule_cpu, hand_cpu = (
        statistics.median(cpu_rates["rule"]),
        statistics.median(cpu_rates["handwritten"]),
    )
    print(
        f"median pages per CPU-second of the crawler process: rule spider {rule_cpu:.1f}, "
        f"hand-written {hand_cpu:.1f}, ratio {rule_cpu / hand_cpu:.3f}"
    )


if __name__ == "__main__":
    main()
