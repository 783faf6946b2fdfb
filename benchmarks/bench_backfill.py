"""Backfill from the page archive vs re-crawling: 10,000 archived pages re-extracted with a
changed rule, side by side with fetching the same pages again with a plain Scrapy spider.

    .venv/bin/python benchmarks/bench_backfill.py [--books 9090] [--pages 10000]

1. The sample site (``--books`` books: with its index and tag lists, a little over ``--pages``
   pages) runs in a process of its own on 127.0.0.1.
2. ``scrapy crawl sample_books`` with ``archive:`` crawls it into a temporary store and
   archive (the project's settings; its time is printed for reference).
3. The rule changes: the title gets a cleaner more (every book's title changes).
4. ``scrapy rules backfill sample_books --dry-run --limit PAGES``, then the real backfill, each
   timed as a user runs it (a process, its start included).
5. The baseline: a plain Scrapy spider (Scrapy's defaults, run outside the project) fetching
   the same PAGES URLs again from the sample site, reading each page's title.

Target: the real backfill of 10,000 archived pages in under 60 s. The figures are printed with
the ratio re-crawl / backfill; the benchmark fails if the dry run and the real run disagree or
if fewer pages than asked were archived.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_crawl import sample_site  # noqa: E402

TARGET_SECONDS = 60.0
OLD_TITLE = 'h1::text", required: true, clean: [collapse_whitespace]}'
NEW_TITLE = (
    'h1::text", required: true, clean: [collapse_whitespace, {regex_sub: {pattern: "^", '
    'repl: "Book: "}}]}'
)
ITEMS_LINE = re.compile(r"items: (\d+); unchanged (\d+), (?:would update|updated) (\d+), "
                        r"(?:would add|added) (\d+), invalid (\d+)")  # fmt: skip

PLAIN_SPIDER = """
import sys
import scrapy
from scrapy.crawler import CrawlerProcess


class Recrawl(scrapy.Spider):
    name = "recrawl"

    def __init__(self, urls_file, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = open(urls_file).read().split()

    def parse(self, response):
        yield {"url": response.url, "title": response.css("h1::text").get()}


process = CrawlerProcess({"LOG_LEVEL": "WARNING"})
crawler = process.create_crawler(Recrawl)
process.crawl(crawler, urls_file=sys.argv[1])
process.start()
stats = crawler.stats.get_stats()
print(stats.get("response_received_count", 0), stats.get("item_scraped_count", 0))
"""


def scrapy(*args: str, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    return proc, time.perf_counter() - started


def project_settings(tmp: Path, rules: Path) -> list[str]:
    pairs = {
        "RULES_DIR": rules,
        "STORE_URI": f"sqlite:///{tmp / 'store.db'}",
        "ARCHIVE_DIR": tmp / "archive",
        "STORE_SPILL_DIR": tmp / "spill",
        "STORE_JOURNAL_DIR": tmp / "journal",
        "RUN_LOG_DIR": tmp / "logs",
        "INCREMENTAL_STATE_URI": "",
        "LOG_LEVEL": "WARNING",
    }
    return [arg for name, value in pairs.items() for arg in ("-s", f"{name}={value}")]


def backfill(tmp: Path, rules: Path, pages: int, *extra: str) -> tuple[tuple[int, ...], float]:
    args = ["rules", "backfill", "sample_books", "--limit", str(pages), *extra]
    proc, seconds = scrapy(*args, *project_settings(tmp, rules))
    if proc.returncode != 0:
        raise SystemExit(f"backfill {' '.join(extra)} failed:\n{proc.stdout}\n{proc.stderr}")
    match = ITEMS_LINE.search(proc.stdout)
    if match is None:
        raise SystemExit(f"cannot read the backfill's summary:\n{proc.stdout}")
    print("   " + "\n   ".join(proc.stdout.splitlines()[:2]))
    return tuple(int(n) for n in match.groups()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=9090)
    parser.add_argument("--pages", type=int, default=10_000)
    opts = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-backfill-") as name,
        sample_site(opts.books, 0) as site,
    ):
        tmp = Path(name)
        rules = tmp / "rules"
        shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("fixtures"))
        rule = rules / "sample_books.yaml"
        text = rule.read_text(encoding="utf-8")
        rule.write_text(text.replace("\nstart:", "\narchive: {max_size: 1GB}\nstart:", 1))
        print(f"sample site: {opts.books} books at {site}")
        proc, crawl_seconds = scrapy(
            "crawl", "sample_books", "-a", f"site={site}", *project_settings(tmp, rules)
        )
        if proc.returncode != 0:
            raise SystemExit(f"the crawl failed:\n{proc.stderr[-3000:]}")
        archive = tmp / "archive" / "sample_books.sqlite"
        with sqlite3.connect(archive) as conn:
            archived = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
            urls = [u for (u,) in conn.execute(
                "SELECT url FROM pages ORDER BY fetched_at, rowid LIMIT ?", (opts.pages,)
            )]  # fmt: skip
        size_mb = archive.stat().st_size / 1e6
        print(f"crawl with archive: {archived} pages archived ({size_mb:.1f} MB) in "
              f"{crawl_seconds:.1f} s")  # fmt: skip
        if len(urls) < opts.pages:
            raise SystemExit(f"only {len(urls)} pages archived, {opts.pages} asked: more --books")
        assert text.count(OLD_TITLE) == 1
        rule.write_text(rule.read_text(encoding="utf-8").replace(OLD_TITLE, NEW_TITLE))
        print("rule changed: the title's cleaners")
        dry, dry_seconds = backfill(tmp, rules, opts.pages, "--dry-run")
        real, real_seconds = backfill(tmp, rules, opts.pages)
        if dry != real or dry[2] == 0:
            raise SystemExit(f"the dry run {dry} and the real run {real} disagree")
        (tmp / "urls.txt").write_text("\n".join(urls))
        (tmp / "plain" / "recrawl.py").parent.mkdir()
        (tmp / "plain" / "recrawl.py").write_text(PLAIN_SPIDER)
        started = time.perf_counter()
        plain = subprocess.run(
            [sys.executable, "recrawl.py", str(tmp / "urls.txt")],
            cwd=tmp / "plain",  # outside the project: Scrapy's defaults
            capture_output=True,
            text=True,
            timeout=3600,
        )
        plain_seconds = time.perf_counter() - started
        if plain.returncode != 0:
            raise SystemExit(f"the plain re-crawl failed:\n{plain.stderr[-3000:]}")
        fetched, scraped = map(int, plain.stdout.split()[-2:])
    n = opts.pages
    print()
    print(f"{'':40}{'seconds':>9}{'pages/s':>10}")
    for label, seconds in (
        ("backfill --dry-run", dry_seconds),
        ("backfill (writes the store)", real_seconds),
        (f"re-crawl, plain Scrapy ({fetched} pages)", plain_seconds),
    ):
        print(f"{label:40}{seconds:9.1f}{n / seconds:10.0f}")
    print(f"items: {dry[0]}; {dry[2]} changed (title), {dry[1]} unchanged, {dry[4]} invalid")
    print(f"ratio re-crawl / dry run:  {plain_seconds / dry_seconds:.2f}")
    print(f"ratio re-crawl / backfill: {plain_seconds / real_seconds:.2f}")
    verdict = "met" if real_seconds < TARGET_SECONDS else "MISSED"
    print(f"target: {n} archived pages backfilled in under {TARGET_SECONDS:.0f} s: {verdict}")
    if fetched < n or scraped < n:
        print(f"warning: the re-crawl fetched {fetched} and scraped {scraped} of {n} pages")


if __name__ == "__main__":
    main()
