"""The platform against the plain Scrapy spider a user would write instead, side by side.

    .venv/bin/python benchmarks/bench_plain.py [--mode small|big|both] [--rounds 3]
        [--books 5000] [--big-pages 3000]

The platform: ``scrapy crawl`` of a rule with everything at its defaults, the store on (a fresh
data directory per run: ``CRAWLER_DATA_DIR``), on the sample site's book catalogue
(rules/sample_books.yaml) or its blog of long posts (benchmarks/rules/bench_blog.yaml).
The baseline: a spider written by hand in one file, in a directory outside the project, run with
``scrapy runspider SPIDER -O items.jsonl``: Scrapy's own defaults (no project settings, no
project code on the path), the platform's concurrency, JSON Lines output. Both are whole
processes, timed from start to exit; pages are Scrapy's ``response_received_count``, peak memory
the process's ``ru_maxrss``.

Runs alternate (platform, plain, then plain, platform...) against one sample-site process, so
machine noise hits both. Per mode: the medians and the ratios platform / plain. Targets:
pages/s >= 1.0 and peak RSS <= 1.0 on both modes. Both must store the same pages' items, or the
benchmark fails.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_crawl import sample_site  # noqa: E402

TARGETS = {"pages/s": ">= 1.0", "peak RSS": "<= 1.0"}
RULES = {
    "small": ("sample_books", ROOT / "rules"),
    "big": ("bench_blog", ROOT / "benchmarks" / "rules"),
}
PAGES = re.compile(r"'response_received_count': (\d+)")
LOG_TAIL = 256 * 1024  # bytes of a crawl's log read back: the stats dump at its end

# What a user writes instead of a rule: one file, plain Scrapy, no project.
HEADER = """
import re
from datetime import datetime, timezone

import scrapy

RATINGS = {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5}


def clean(text):
    return " ".join(text.split()) if text else None
"""
BOOKS = """

class Books(scrapy.Spider):
    name = "books"

    def __init__(self, site, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [site + "/"]

    def parse(self, response):
        for href in response.css("ul.tags a.tag::attr(href)").getall():
            yield response.follow(href, self.parse_list)

    def parse_list(self, response):
        tag = clean(response.css("h1::text").get())
        for row in response.css("article.book"):
            rating = re.search(r"star-rating (\\w+)", row.css("p.star-rating::attr(class)").get() or "")
            href = row.css("h3 a::attr(href)").get()
            if href:
                meta = {"tag": tag, "rating": RATINGS.get(rating.group(1)) if rating else None}
                yield response.follow(href, self.parse_book, meta=meta, priority=10)
        next_page = response.css("li.next a::attr(href)").get()
        if next_page:
            yield response.follow(next_page, self.parse_list)

    def parse_book(self, response):
        price = re.search(r"[0-9.]+", response.css("p.price_color::text").get() or "")
        stock = re.search(r"\\((\\d+) available\\)", response.css("p.availability::text").get() or "")
        info = "//table[@class='product_info']//th[.='{}']/following-sibling::td/text()"
        yield {
            "url": response.url,
            "title": clean(response.css("div.product_main h1::text").get()),
            "price": float(price.group()) if price else None,
            "stock": int(stock.group(1)) if stock else None,
            "description": clean(response.css("#product_description p").xpath("string()").get()),
            "upc": response.xpath(info.format("UPC")).get(),
            "published": response.xpath(info.format("Published")).get(),
            "tag": response.meta["tag"],
            "rating": response.meta["rating"],
            "crawled_at": datetime.now(timezone.utc).isoformat(),
        }
"""
BLOG = """

class Blog(scrapy.Spider):
    name = "blog"

    def __init__(self, site, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [site + "/blog/"]

    def parse(self, response):
        for href in response.css("h2.entry-title a::attr(href)").getall():
            yield response.follow(href, self.parse_post, priority=10)
        next_page = response.css("a.next::attr(href)").get()
        if next_page:
            yield response.follow(next_page, self.parse)

    def parse_post(self, response):
        yield {
            "url": response.url,
            "title": clean(response.css("h1.entry-title::text").get()),
            "published": response.css("time.published::attr(datetime)").get(),
            "categories": response.css("span.cat-links a[rel~=tag]::text").getall(),
            "body": clean(response.css("div.entry-content").xpath("string()").get()),
            "crawled_at": datetime.now(timezone.utc).isoformat(),
        }
"""
PLAIN_SPIDERS = {"small": HEADER + BOOKS, "big": HEADER + BLOG}


def platform_concurrency() -> tuple[int, int]:
    from scrapy.utils.project import get_project_settings

    os.chdir(ROOT)
    settings = get_project_settings()
    return settings.getint("CONCURRENT_REQUESTS"), settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``cmd``; (wall seconds, peak RSS in KiB, the end of its stderr). Fails loudly on a
    non-zero exit. Only the end of the log is read (the stats dump is there): this process must
    stay small, since a child starts with its parent's resident set, which ``ru_maxrss`` counts,
    and Scrapy's defaults log every item at DEBUG."""
    with tempfile.TemporaryFile("w+b") as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(max(0, err.seek(0, os.SEEK_END) - LOG_TAIL))
        log = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed (exit {proc.returncode}):\n{log[-2000:]}")
    return seconds, usage.ru_maxrss, log


def run_platform(mode: str, site: str, work: Path) -> dict:
    rule, rules_dir = RULES[mode]
    env = {**os.environ, "CRAWLER_DATA_DIR": str(work), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "scrapy.cmdline", "crawl", rule, "-a", f"site={site}"]
    cmd += ["-s", f"RULES_DIR={rules_dir}"]
    seconds, rss, log = timed(cmd, ROOT, env)
    urls = stored_urls("store", f"sqlite:///{work / 'items.db'}", rule)
    return {"seconds": seconds, "rss": rss, "pages": pages_of(log), "urls": urls}


def run_plain(mode: str, site: str, work: Path, concurrency: tuple[int, int]) -> dict:
    spider = work / "spider.py"
    spider.write_text(PLAIN_SPIDERS[mode], encoding="utf-8")
    out = work / "items.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCRAPY_SETTINGS_MODULE")}
    cmd = [sys.executable, "-m", "scrapy.cmdline", "runspider", str(spider)]
    cmd += ["-a", f"site={site}", "-O", str(out)]
    cmd += ["-s", f"CONCURRENT_REQUESTS={concurrency[0]}"]
    cmd += ["-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency[1]}"]
    seconds, rss, log = timed(cmd, work, env)
    urls = stored_urls("jsonl", str(out), "")
    return {"seconds": seconds, "rss": rss, "pages": pages_of(log), "urls": urls}


def stored_urls(kind: str, where: str, rule: str) -> set[str]:
    """The page URLs of what a run stored, read in a process of its own: this one stays small,
    since a child starts with its parent's resident set, which ``ru_maxrss`` then counts."""
    cmd = [sys.executable, "-m", "benchmarks.bench_plain", "--urls", kind, where, rule]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(proc.stdout))


def print_urls(kind: str, where: str, rule: str) -> None:
    if kind == "store":
        from crawler.store import open_store

        with open_store(where) as store:  # items and dead letters
            urls = {doc["_url"] for name in (rule, f"{rule}__dead") for doc in store.find(name)}
    else:
        with open(where, encoding="utf-8") as lines:
            urls = {json.loads(line)["url"] for line in lines if line.strip()}
    print(json.dumps(sorted(urls)))


def pages_of(log: str) -> int:
    found = PAGES.findall(log)
    if not found:
        raise SystemExit(f"no response_received_count in the crawl's stats:\n{log[-1500:]}")
    return int(found[-1])


def bench_mode(
    mode: str, site: str, rounds: int, tmp: Path, concurrency: tuple[int, int]
) -> list[str]:
    figures: dict[str, dict[str, list[float]]] = {
        w: {"rate": [], "rss": []} for w in ("platform", "plain")
    }
    problems: list[str] = []
    print(f"== {mode}: concurrency {concurrency[0]} ({concurrency[1]} per domain)", flush=True)
    for round_no in range(1, rounds + 1):
        order = ("platform", "plain") if round_no % 2 else ("plain", "platform")
        urls = {}
        for which in order:
            work = tmp / f"{mode}-{round_no}-{which}"
            work.mkdir()
            if which == "platform":
                result = run_platform(mode, site, work)
            else:
                result = run_plain(mode, site, work, concurrency)
            rate = result["pages"] / result["seconds"]
            figures[which]["rate"].append(rate)
            figures[which]["rss"].append(result["rss"] / 1024)
            urls[which] = result["urls"]
            print(
                f"round {round_no} {which:<9} {result['pages']:>6} pages "
                f"{len(result['urls']):>6} items {result['seconds']:7.2f}s {rate:8.1f} pages/s "
                f"peak RSS {result['rss'] / 1024:6.1f} MiB",
                flush=True,
            )
        if not urls["plain"] or urls["platform"] != urls["plain"]:
            only = sorted(urls["platform"] ^ urls["plain"])
            problems.append(f"{mode}: round {round_no}: items differ, e.g. {only[:3]}")
    med = {w: {k: statistics.median(v) for k, v in f.items()} for w, f in figures.items()}
    rate = med["platform"]["rate"] / med["plain"]["rate"]
    rss = med["platform"]["rss"] / med["plain"]["rss"]
    print(
        f"{mode}: median pages/s: platform {med['platform']['rate']:.1f}, plain Scrapy "
        f"{med['plain']['rate']:.1f}, ratio {rate:.3f} (target {TARGETS['pages/s']})"
    )
    print(
        f"{mode}: median peak RSS: platform {med['platform']['rss']:.1f} MiB, plain Scrapy "
        f"{med['plain']['rss']:.1f} MiB, ratio {rss:.3f} (target {TARGETS['peak RSS']})"
    )
    return problems


def main() -> None:
    if sys.argv[1:2] == ["--urls"]:  # the helper process of stored_urls
        print_urls(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("small", "big", "both"), default="both")
    parser.add_argument("--books", type=int, default=5000)
    parser.add_argument("--big-pages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    if opts.rounds < 1:
        parser.error("--rounds must be >= 1")
    modes = ("small", "big") if opts.mode == "both" else (opts.mode,)
    concurrency = platform_concurrency()
    problems: list[str] = []
    books, big_pages = (
        (opts.books if "small" in modes else 0),
        (opts.big_pages if "big" in modes else 0),
    )
    with (
        sample_site(books, big_pages) as url,
        tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp,
    ):
        for mode in modes:
            problems += bench_mode(mode, url, opts.rounds, Path(tmp), concurrency)
    if problems:
        print("the two did not store the same pages:", *problems, sep="\n  ", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
