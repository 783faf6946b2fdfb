"""A thousand sites of one family, crawled as one site table, against a hand-written spider.

    .venv/bin/python benchmarks/bench_sites.py [--sites 1000] [--books 6] [--rounds 3]
        [--concurrency 64]

The sample site is served on ``--sites`` loopback addresses of their own (127.0.1.1, 127.0.1.2,
...), one process recording what every host saw. The platform: a site table of ``--sites`` rows
under one template (rules/sample_books.yaml as a template: index, tag lists, book pages),
``scrapy crawl --table sites``: one crawl of every site, each with its own stats and run record,
the store on. The baseline: the spider a user writes instead, one file run with
``scrapy runspider`` and Scrapy's defaults outside the project, starting at every site, with the
same limits: ``CONCURRENT_REQUESTS=--concurrency`` in all and ``CONCURRENT_REQUESTS_PER_DOMAIN=1``.

Runs alternate (platform, plain, then plain, platform...), ``--rounds`` times, a fresh sample
site per run. Figures: pages per second (``response_received_count`` over the process's wall
time) and peak memory (``ru_maxrss``), medians and ratios platform / plain. Targets: pages/s
>= 0.9, peak RSS <= 1.2, and no host ever has two requests in flight at once, on either side.
Both must store the same pages' items, and the platform must write one finished run record per
site, or the benchmark fails.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_plain import HEADER, pages_of, timed  # noqa: E402
from tests.sample_site.server import loopback_hosts  # noqa: E402

TARGETS = {"pages/s": 0.9, "peak RSS": 1.2}
PORT = re.compile(r":\d+/")

# The hand-written spider: bench_plain's, starting at every site given in a file.
SITES_SPIDER = (
    HEADER
    + """

class Sites(scrapy.Spider):
    name = "sites"

    def __init__(self, sites, **kwargs):
        super().__init__(**kwargs)
        with open(sites) as lines:
            self.start_urls = [line.strip() + "/" for line in lines if line.strip()]
        self.allowed_domains = [url.split("/")[2].split(":")[0] for url in self.start_urls]

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
)


@contextmanager
def sample_site(sites: int, books: int, record: Path) -> Iterator[list[str]]:
    """The sample site on ``sites`` loopback addresses, in a process of its own: their URLs.
    What each host saw is in ``record`` (JSON) once the block ends."""
    cmd = [sys.executable, "-m", "tests.sample_site", "--books", str(books)]
    cmd += ["--hosts", str(sites), "--record-hosts", str(record)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip() if proc.stdout else ""
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the sample site did not start (got {url!r})")
    port = url.rsplit(":", 1)[1]
    try:
        yield [f"http://{host}:{port}" for host in loopback_hosts(sites)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def write_table(rules: Path, urls: list[str]) -> None:
    """rules/templates/books.yaml (the sample rule, as a template) and rules/tables/sites.csv."""
    (rules / "templates").mkdir(parents=True)
    (rules / "tables").mkdir()
    (rules / "types").symlink_to(ROOT / "rules" / "types")
    rule = (ROOT / "rules" / "sample_books.yaml").read_text(encoding="utf-8")
    template = "\n".join(line for line in rule.splitlines() if not line.startswith("name:"))
    (rules / "templates" / "books.yaml").write_text(template + "\n", encoding="utf-8")
    rows = [f"site{n:04d},books,{url}" for n, url in enumerate(urls, 1)]
    (rules / "tables" / "sites.csv").write_text(
        "name,template,args.site\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )


def run_platform(urls: list[str], work: Path, concurrency: int) -> dict:
    rules = work / "rules"
    write_table(rules, urls)
    env = {**os.environ, "CRAWLER_DATA_DIR": str(work / "data"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "scrapy.cmdline", "crawl", "--table", "sites"]
    cmd += ["-s", f"RULES_DIR={rules}", "-s", f"CONCURRENT_REQUESTS={concurrency}"]
    cmd += ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "LOG_LEVEL=INFO"]
    seconds, rss, log = timed(cmd, ROOT, env)
    store = f"sqlite:///{work / 'data' / 'items.db'}"
    found = stored(["--store", store, "sample_books"])
    if found["finished"] != len(urls):
        raise SystemExit(f"{found['finished']} of {len(urls)} sites recorded as finished")
    return {"seconds": seconds, "rss": rss, "pages": pages_of(log), "urls": found["urls"]}


def run_plain(urls: list[str], work: Path, concurrency: int) -> dict:
    spider, sites, out = work / "spider.py", work / "sites.txt", work / "items.jsonl"
    spider.write_text(SITES_SPIDER, encoding="utf-8")
    sites.write_text("\n".join(urls) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCRAPY_SETTINGS_MODULE")}
    cmd = [sys.executable, "-m", "scrapy.cmdline", "runspider", str(spider)]
    cmd += ["-a", f"sites={sites}", "-O", str(out), "-s", f"CONCURRENT_REQUESTS={concurrency}"]
    cmd += ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "LOG_LEVEL=INFO"]
    seconds, rss, log = timed(cmd, work, env)
    found = stored(["--jsonl", str(out)])
    return {"seconds": seconds, "rss": rss, "pages": pages_of(log), "urls": found["urls"]}


def stored(args: list[str]) -> dict:
    """What a run stored, read in a process of its own (this one stays small: a child starts
    with its parent's resident set, which ``ru_maxrss`` counts)."""
    cmd = [sys.executable, "-m", "benchmarks.bench_sites", "--read", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(proc.stdout)
    found["urls"] = {PORT.sub("/", url, count=1) for url in found["urls"]}  # a site per run
    return found


def read(args: list[str]) -> None:
    if args[0] == "--store":
        from crawler.store import open_store

        with open_store(args[1]) as store:
            names = (args[2], f"{args[2]}__dead")
            urls = {doc["_url"] for name in names for doc in store.find(name)}
            runs = store.runs(limit=100_000)
        finished = sum(r["status"] == "finished" and "group" in r for r in runs)
    else:
        with open(args[1], encoding="utf-8") as lines:
            urls = {json.loads(line)["url"] for line in lines if line.strip()}
        finished = 0
    print(json.dumps({"urls": sorted(urls), "finished": finished}))


def main() -> None:
    if sys.argv[1:2] == ["--read"]:
        read(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--books", type=int, default=6, help="books per site")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    opts = parser.parse_args()
    figures = {w: {"rate": [], "rss": []} for w in ("platform", "plain")}
    problems = []
    print(f"{opts.sites} sites, {opts.books} books each, {opts.concurrency} requests in flight "
          "at most, 1 per host", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-sites-") as tmp:
        for round_no in range(1, opts.rounds + 1):
            order = ("platform", "plain") if round_no % 2 else ("plain", "platform")
            urls_of = {}
            for which in order:
                work = Path(tmp) / f"{round_no}-{which}"
                work.mkdir()
                record = work / "hosts.json"
                with sample_site(opts.sites, opts.books, record) as urls:
                    run = run_platform if which == "platform" else run_plain
                    result = run(urls, work, opts.concurrency)
                seen = json.loads(record.read_text(encoding="utf-8"))
                most = max(seen["max_in_flight"].values(), default=0)
                hosts = len(seen["requests"])
                if most > 1:
                    problems.append(f"round {round_no} {which}: a host saw {most} at once")
                if hosts != opts.sites:
                    problems.append(f"round {round_no} {which}: {hosts} hosts of {opts.sites} seen")
                rate = result["pages"] / result["seconds"]
                figures[which]["rate"].append(rate)
                figures[which]["rss"].append(result["rss"] / 1024)
                urls_of[which] = result["urls"]
                print(
                    f"round {round_no} {which:<9} {result['pages']:>6} pages "
                    f"{len(result['urls']):>6} items {result['seconds']:7.2f}s {rate:8.1f} "
                    f"pages/s peak RSS {result['rss'] / 1024:6.1f} MiB, {hosts} hosts, at most "
                    f"{most} request(s) at once on any",
                    flush=True,
                )
            if not urls_of["plain"] or urls_of["platform"] != urls_of["plain"]:
                only = sorted(urls_of["platform"] ^ urls_of["plain"])
                problems.append(f"round {round_no}: items differ, e.g. {only[:3]}")
    med = {w: {k: statistics.median(v) for k, v in f.items()} for w, f in figures.items()}
    rate = med["platform"]["rate"] / med["plain"]["rate"]
    rss = med["platform"]["rss"] / med["plain"]["rss"]
    print(f"median pages/s: platform {med['platform']['rate']:.1f}, plain Scrapy "
          f"{med['plain']['rate']:.1f}, ratio {rate:.3f} (target >= {TARGETS['pages/s']})")  # fmt: skip
    print(f"median peak RSS: platform {med['platform']['rss']:.1f} MiB, plain Scrapy "
          f"{med['plain']['rss']:.1f} MiB, ratio {rss:.3f} (target <= {TARGETS['peak RSS']})")  # fmt: skip
    if problems:
        print("problems:", *problems, sep="\n  ", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
