"""Rule spider vs hand-written spider, side by side: speed and peak memory, small and big pages.

    .venv/bin/python benchmarks/bench_crawl.py [--mode small|big|both] [--rounds 3]
        [--books 5000] [--big-pages 3000] [--pipelines default|on|off] [-s NAME=VALUE ...]

Modes: ``small`` crawls the sample site's book catalogue (``--books``; rules/sample_books.yaml
against benchmarks/handwritten.py's HandwrittenBooks, without item pipelines, at 32 concurrent
requests, as its figures have always been measured); ``big`` crawls its blog of long posts
(``--big-pages`` posts of 50-300 KB; benchmarks/rules/bench_blog.yaml against HandwrittenBlog)
under the project's own settings, item pipelines on, storing into a temporary SQLite file.
``--pipelines on|off`` forces one way for both modes; ``-s`` sets a Scrapy setting for both
spiders (e.g. ``-s CONCURRENT_ITEMS=100``).

Each crawl runs in a fresh process against one sample-site process; runs alternate (rule,
hand-written, then hand-written, rule, ...) so machine noise hits both. Each run prints pages/s,
pages per CPU-second of the crawler process (which shared-machine noise disturbs less) and the
crawler process's peak resident set (``ru_maxrss``). Then, per mode, the medians and the ratios
rule / hand-written. Targets: pages/s >= 1.0 on both modes, peak RSS <= 1.15 on big pages.
Every run also hashes each item's fields (as the spider yields them, before the pipelines), and
the runs of a mode must agree item for item, or the benchmark fails: the comparison is fair
only if both spiders extract the same thing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIDERS = ("rule", "handwritten")
TARGETS = {"pages/s": ">= 1.0", "peak RSS": "<= 1.15 on big"}


@contextmanager
def sample_site(books: int, big_pages: int) -> Iterator[str]:
    """The sample site in a process of its own while the block runs: its URL."""
    cmd = [sys.executable, "-m", "tests.sample_site", "--books", str(books)]
    cmd += ["--big-pages", str(big_pages)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the sample site did not start (got {url!r})")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(which: str, site: str, mode: str, opts: argparse.Namespace, digest: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.run_spider", which, site, "--mode", mode]
    cmd += ["--pipelines", opts.pipelines, "--digest", str(digest)]
    for pair in opts.settings:
        cmd += ["-s", pair]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{which} crawl failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["digests"] = json.loads(digest.read_text())
    return result


def compare(mode: str, reference: dict[str, str], other: dict[str, str], label: str) -> list[str]:
    """What differs between two runs' item digests (empty: every item identical)."""
    problems = []
    missing, extra = (
        sorted(reference.keys() - other.keys()),
        sorted(other.keys() - reference.keys()),
    )
    changed = sorted(u for u in reference.keys() & other.keys() if reference[u] != other[u])
    for what, urls in (("missing", missing), ("extra", extra), ("different", changed)):
        if urls:
            problems.append(f"{mode}: {label}: {len(urls)} item(s) {what}, e.g. {urls[:3]}")
    return problems


def bench_mode(mode: str, site: str, opts: argparse.Namespace, tmp: Path) -> list[str]:
    figures: dict[str, dict[str, list[float]]] = {
        w: {"rate": [], "cpu_rate": [], "rss": []} for w in SPIDERS
    }
    reference: dict[str, str] | None = None
    problems: list[str] = []
    print(f"== {mode} pages", flush=True)
    for round_no in range(1, opts.rounds + 1):
        for which in SPIDERS if round_no % 2 else reversed(SPIDERS):
            result = run(which, site, mode, opts, tmp / f"{mode}-{round_no}-{which}.json")
            rate = result["pages"] / result["seconds"]
            cpu_rate = result["pages"] / result["cpu_seconds"]
            rss = result["peak_rss_kib"] / 1024
            figures[which]["rate"].append(rate)
            figures[which]["cpu_rate"].append(cpu_rate)
            figures[which]["rss"].append(rss)
            print(
                f"round {round_no} {which:<12} {result['pages']:>6} pages {result['items']:>6} items "
                f"{result['seconds']:7.2f}s {rate:8.1f} pages/s {cpu_rate:8.1f} pages/cpu-s "
                f"peak RSS {rss:6.1f} MiB",
                flush=True,
            )
            if not result["digests"]:
                problems.append(f"{mode}: round {round_no} {which}: no items")
            if reference is None:
                reference = result["digests"]
            else:
                label = f"round {round_no} {which} vs round 1 rule"
                problems += compare(mode, reference, result["digests"], label)
    medians = {w: {k: statistics.median(v) for k, v in figures[w].items()} for w in SPIDERS}
    rule, hand = medians["rule"], medians["handwritten"]
    print(
        f"{mode}: median pages/s: rule spider {rule['rate']:.1f}, hand-written {hand['rate']:.1f}, "
        f"ratio {rule['rate'] / hand['rate']:.3f} (target {TARGETS['pages/s']})"
    )
    print(
        f"{mode}: median pages per CPU-second of the crawler process: rule spider "
        f"{rule['cpu_rate']:.1f}, hand-written {hand['cpu_rate']:.1f}, "
        f"ratio {rule['cpu_rate'] / hand['cpu_rate']:.3f}"
    )
    print(
        f"{mode}: median peak RSS: rule spider {rule['rss']:.1f} MiB, hand-written "
        f"{hand['rss']:.1f} MiB, ratio {rule['rss'] / hand['rss']:.3f} "
        f"(target {TARGETS['peak RSS']})"
    )
    items = len(reference or {})
    print(f"{mode}: items compared field by field: {items} per run, {len(problems)} difference(s)")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("small", "big", "both"), default="both")
    parser.add_argument("--books", type=int, default=5000)
    parser.add_argument("--big-pages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipelines", choices=("default", "on", "off"), default="default")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    opts = parser.parse_args()
    if opts.rounds < 1:
        parser.error("--rounds must be >= 1")
    modes = ("small", "big") if opts.mode == "both" else (opts.mode,)
    problems: list[str] = []
    books, big_pages = (
        (opts.books if "small" in modes else 0),
        (opts.big_pages if "big" in modes else 0),
    )
    with (
        sample_site(books, big_pages) as url,
        tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp,
    ):
        for mode in modes:
            problems += bench_mode(mode, url, opts, Path(tmp))
    if problems:
        print("the spiders did not extract the same items:", *problems, sep="\n  ", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
