"""``render: auto`` on a catalogue where one page in ten is filled by script, and a ``render: js``
crawl against the plain scrapy-playwright spider a user would write instead.

    .venv/bin/python benchmarks/bench_render_auto.py [--pages 500] [--rendered-pages 300]
        [--rounds 3]

1. **auto**: ``scrapy crawl`` of a rule whose detail pages are ``render: auto`` over the sample
   site's ``/js/mixed/{1..N}.html`` (ids 10, 20... get their price by XHR; the others have it in
   the HTML), the store on (a fresh data directory). Prints the share of pages rendered (target
   <= 15 %) and checks that every book is stored with its price; the same pages with
   ``render: js`` are crawled beside it for the time auto saves.
2. **render: js vs plain scrapy-playwright**: the sample site's ``/js/book/{1..M}.html`` (every
   price by XHR), waiting for the price. The platform: ``scrapy crawl`` of a rule, everything at
   its defaults (stealth, guard, bounded contexts, the store). The baseline: one spider file in a
   directory outside the project, ``scrapy runspider`` with Scrapy's and scrapy-playwright's
   defaults (Debian's Chromium through ``PLAYWRIGHT_LAUNCH_OPTIONS``), the platform's
   concurrency, JSON Lines output. Rounds alternate which goes first, against one sample-site
   process. Pages per second are Scrapy's ``response_received_count`` over the process's wall
   time; peak memory is the highest proportional set size of the crawl process and all its
   descendants (Playwright's driver, Chromium and its renderers), sampled every 0.2 s. Medians
   and ratios platform / plain; targets: pages/s >= 1.0, peak memory <= 1.0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_render import tree_memory  # noqa: E402

PAGES = re.compile(r"'response_received_count': (\d+)")
STAT = r"'{}': (\d+)"
WAIT_FOR = ".price_color[data-currency]"
SETTINGS: list[str] = []  # -s NAME=VALUE for the platform's crawls (--set)
CPU: list[float] = []  # CPU seconds of each crawl's process tree (what its processes waited for)
OPTIONS: list[str] = []  # render: options of the platform's rule in part 2 (--option)

RULE = """
name: bench_auto
args: {{site: null}}
item: {{collection: bench_auto}}
start:
  - url: "{{site}}/js/{kind}/{{1..{pages}}}.html"
    page: book
pages:
  book:
    render: {render}
    fields:
      title: {{css: "div.product_main h1::text", required: true}}
      price: {{css: "p.price_color::text", required: true, clean: [{{price: {{field: amount}}}}]}}
"""

PLAIN = """
import scrapy
from scrapy_playwright.page import PageMethod


class Books(scrapy.Spider):
    name = "books"
    custom_settings = {
        "DOWNLOAD_HANDLERS": {
            "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        },
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": "/usr/bin/chromium", "args": ["--no-sandbox"]},
    }

    def __init__(self, site, pages, **kwargs):
        super().__init__(**kwargs)
        self.site, self.pages = site, int(pages)

    async def start(self):
        for n in range(1, self.pages + 1):
            yield scrapy.Request(
                f"{self.site}/js/book/{n}.html",
                meta={
                    "playwright": True,
                    "playwright_page_methods": [PageMethod("wait_for_selector", "WAIT_FOR")],
                },
            )

    def parse(self, response):
        price = response.css("p.price_color::text").re_first(r"[0-9.]+")
        yield {
            "url": response.url,
            "title": response.css("div.product_main h1::text").get(),
            "price": float(price) if price else None,
        }
""".replace("WAIT_FOR", WAIT_FOR)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``cmd``: (wall seconds, peak PSS of its process tree in bytes, its log's end)."""
    with tempfile.TemporaryFile("w+b") as err:
        peak = 0
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, tree_memory(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        CPU.append(usage.ru_utime + usage.ru_stime)
        done.set()
        sampler.join()
        err.seek(max(0, err.seek(0, os.SEEK_END) - 256 * 1024))
        log = err.read().decode("utf-8", "replace")
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:5])} failed (exit {code}):\n{log[-2500:]}")
    return seconds, peak, log


def stat(log: str, name: str) -> int:
    found = re.findall(STAT.format(re.escape(name)), log)
    return int(found[-1]) if found else 0


def platform(kind: str, render: str, pages: int, site: str, work: Path) -> dict:
    rules = work / "rules"
    rules.mkdir(parents=True)
    (rules / "bench_auto.yaml").write_text(RULE.format(kind=kind, pages=pages, render=render))
    env = {**os.environ, "CRAWLER_DATA_DIR": str(work), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "scrapy.cmdline", "crawl", "bench_auto", "-a", f"site={site}"]
    cmd += ["-s", f"RULES_DIR={rules}", "-s", "RENDER_SCREENSHOT_DIR="]
    for setting in SETTINGS:  # --set: what an experiment changes
        cmd += ["-s", setting]
    seconds, peak, log = run(cmd, ROOT, env)
    cpu = CPU[-1]
    items = stored(f"sqlite:///{work / 'items.db'}")
    return {"seconds": seconds, "peak": peak, "pages": stat(log, "response_received_count"),
            "log": log, "items": items, "cpu": cpu}  # fmt: skip


def plain(pages: int, site: str, work: Path, concurrency: tuple[int, int]) -> dict:
    work.mkdir(parents=True)
    spider = work / "spider.py"
    spider.write_text(PLAIN, encoding="utf-8")
    out = work / "items.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCRAPY_SETTINGS_MODULE")}
    cmd = [sys.executable, "-m", "scrapy.cmdline", "runspider", str(spider), "-O", str(out)]
    cmd += ["-a", f"site={site}", "-a", f"pages={pages}", "-s", "LOG_LEVEL=INFO"]
    cmd += ["-s", f"CONCURRENT_REQUESTS={concurrency[0]}"]
    cmd += ["-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency[1]}"]
    seconds, peak, log = run(cmd, work, env)
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    items = {item["url"]: item["price"] for item in lines}
    return {"seconds": seconds, "peak": peak, "pages": stat(log, "response_received_count"),
            "log": log, "items": items, "cpu": CPU[-1]}  # fmt: skip


def stored(uri: str) -> dict[str, float | None]:
    """{page URL: price} of what the platform stored, read in a process of its own (this one
    stays small and out of the sampled tree anyway)."""
    cmd = [sys.executable, "-m", "benchmarks.bench_render_auto", "--stored", uri]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def print_stored(uri: str) -> None:
    from crawler.store import open_store

    with open_store(uri) as store:
        print(json.dumps({doc["_url"]: doc.get("price") for doc in store.find("bench_auto")}))


def platform_concurrency() -> tuple[int, int]:
    from scrapy.utils.project import get_project_settings

    os.chdir(ROOT)
    settings = get_project_settings()
    return settings.getint("CONCURRENT_REQUESTS"), settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")


def expected_prices(site: str, kind: str, count: int) -> dict[str, float]:
    from tests.sample_site import catalogue

    return {f"{site}/js/{kind}/{b.id}.html": float(b.price) for b in catalogue(count)}


def line(label: str, result: dict) -> str:
    rate = result["pages"] / result["seconds"]
    return (
        f"  {label:<22} {result['pages']:>5} pages {len(result['items']):>5} items "
        f"{result['seconds']:7.1f}s {rate:7.1f} pages/s  peak {result['peak'] / 2**20:6.0f} MiB"
        f"  CPU {result['cpu']:6.1f}s"
    )


def bench_auto(site: str, pages: int, tmp: Path) -> list[str]:
    problems = []
    print(f"== 1. render: auto on /js/mixed/1..{pages} (one page in ten filled by script)")
    auto = platform("mixed", "auto", pages, site, tmp / "auto")
    always = platform("mixed", "{wait_for: '" + WAIT_FOR + "'}", pages, site, tmp / "js")
    expected = expected_prices(site, "mixed", pages)
    print(line("render: auto", auto))
    print(line("render: js (same pages)", always))
    rendered = stat(auto["log"], "render/auto/rendered")
    static = stat(auto["log"], "render/auto/static")
    share = rendered / pages
    print(
        f"  auto: {rendered} pages rendered ({share:.1%} of {pages}; target <= 15 %), "
        f"{static} kept static, {stat(auto['log'], 'render/auto/fallbacks')} static misses "
        f"fetched again; {auto['seconds']:.1f}s against {always['seconds']:.1f}s rendering "
        f"every page ({always['seconds'] / auto['seconds']:.1f}x faster)"
    )
    if share > 0.15:
        problems.append(f"auto rendered {share:.1%} of the pages (target <= 15 %)")
    for label, result in (("auto", auto), ("js", always)):
        if result["items"] != expected:
            missing = sorted(set(expected) - set(result["items"]))[:3]
            wrong = [u for u in expected if result["items"].get(u) not in (None, expected[u])]
            problems.append(
                f"{label}: items not all stored with their price: {missing} {wrong[:3]}"
            )
    print(f"  every book stored with its price: {not problems}")
    return problems


def bench_versus_plain(site: str, pages: int, rounds: int, tmp: Path) -> list[str]:
    concurrency = platform_concurrency()
    print(
        f"== 2. render: js vs plain scrapy-playwright on /js/book/1..{pages}, concurrency "
        f"{concurrency[0]} ({concurrency[1]} per domain), {rounds} rounds"
    )
    figures: dict[str, dict[str, list[float]]] = {w: {"rate": [], "peak": []} for w in ("platform", "plain")}  # fmt: skip
    problems: list[str] = []
    expected = expected_prices(site, "book", pages)
    render = "{wait_for: '" + WAIT_FOR + "'" + "".join(f", {o}" for o in OPTIONS) + "}"
    for n in range(1, rounds + 1):
        order = ("platform", "plain") if n % 2 else ("plain", "platform")
        for which in order:
            work = tmp / f"vs-{n}-{which}"
            if which == "platform":
                result = platform("book", render, pages, site, work)
            else:
                result = plain(pages, site, work, concurrency)
            figures[which]["rate"].append(result["pages"] / result["seconds"])
            figures[which]["peak"].append(result["peak"])
            print(line(f"round {n} {which}", result), flush=True)
            if result["items"] != expected:
                problems.append(f"round {n} {which}: items differ from the catalogue")
    med = {w: {k: statistics.median(v) for k, v in f.items()} for w, f in figures.items()}
    rate = med["platform"]["rate"] / med["plain"]["rate"]
    peak = med["platform"]["peak"] / med["plain"]["peak"]
    print(
        f"  medians: platform {med['platform']['rate']:.1f} pages/s, "
        f"{med['platform']['peak'] / 2**20:.0f} MiB; plain {med['plain']['rate']:.1f} pages/s, "
        f"{med['plain']['peak'] / 2**20:.0f} MiB"
    )
    print(f"  platform / plain: pages/s x{rate:.2f} (target >= 1.0), peak memory x{peak:.2f} "
          f"(target <= 1.0)")  # fmt: skip
    if rate < 1.0:
        problems.append(f"render: js pages/s x{rate:.2f} of plain scrapy-playwright")
    if peak > 1.0:
        problems.append(f"render: js peak memory x{peak:.2f} of plain scrapy-playwright")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--rendered-pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["auto", "plain"])
    parser.add_argument("--stored")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the platform's crawls (an experiment)")  # fmt: skip
    parser.add_argument("--option", action="append", default=[], metavar="KEY: VALUE",
                        help="a render: option of part 2's rule (an experiment)")  # fmt: skip
    args = parser.parse_args()
    SETTINGS.extend(args.set)
    OPTIONS.extend(args.option)
    if args.stored:
        print_stored(args.stored)
        return
    from tests.sample_site import SampleSite

    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        SampleSite(books=max(args.pages, args.rendered_pages)) as site,
    ):
        if args.only != "plain":
            problems += bench_auto(site.url, args.pages, Path(tmp))
        if args.only != "auto":
            problems += bench_versus_plain(site.url, args.rendered_pages, args.rounds, Path(tmp))
    for problem in problems:
        print(f"FAILED: {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
