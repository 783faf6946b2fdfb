"""``scrapy demo``: serve the bundled sample site on 127.0.0.1, crawl it with the shipped
``sample_*`` rules into the configured store (the embedded one by default), print a summary
with each crawl's status; the exit status is the first crawl's that did not finish (0 when all
did; the table is in crawler/core/exitcodes.py).

Items are keyed by their URLs, so the sample site always runs on the same port (``--port``,
default :data:`DEMO_PORT`): every run updates the same items. A busy port is a usage error
(exit 2) naming it, never a silent move to another port and a second copy of every item."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.crawl import check_command_line_settings, exit_code
from crawler.core.exitcodes import EXIT_CODES, STATUSES
from crawler.runs import run_errors
from vocab import mask_url
from vocab.datadir import project_root

DEMO_PORT = 8765  # a fixed port keeps item URLs (and so store keys) the same from run to run


def _free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (connections of an earlier run left in TIME_WAIT do
    not count: the sample site binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_sample_site(
    books: int, latency_ms: int = 0, port: int = 0
) -> tuple[subprocess.Popen, str]:
    """Run ``python -m tests.sample_site`` and return (process, base URL); port 0 picks a free one."""
    cmd = [sys.executable, "-m", "tests.sample_site", "--port", str(port), "--books", str(books)]
    cmd += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(cmd, cwd=project_root, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise UsageError(f"the sample site did not start (got {url!r})", print_help=False)
    return proc, url


def _sum(stats: dict, prefix: str) -> int:
    return sum(v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, int))


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[--books N] [--rules sample_books,...] [--port N]"

    def short_desc(self) -> str:
        return "Crawl the bundled sample site on 127.0.0.1 into the store and print a summary"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--books", type=int, default=60, help="size of the sample catalogue")
        parser.add_argument(
            "--rules", default="", help="comma-separated rules (default: every sample_* rule)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=DEMO_PORT,
            help=f"port of the sample site on 127.0.0.1 (default {DEMO_PORT}); items are keyed "
            "by URL, so runs on another port store their own copies",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)
        if not 0 < opts.port < 65536:
            raise UsageError(f"--port must be 1-65535, not {opts.port}", print_help=False)
        if not _free(opts.port):
            raise UsageError(
                f"port {opts.port} on 127.0.0.1 is in use (another `scrapy demo` still running?): "
                "stop what listens there, or pass --port N (items are keyed by URL: another port "
                "stores a second copy of every item)",
                print_help=False,
            )
        if not opts.loglevel:
            self.settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
        # the demo is the one-machine setup, whatever REDIS_URL the environment has
        self.settings.set("DISTRIBUTED", False, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        loader = self.crawler_process.spider_loader
        names = [n for n in opts.rules.split(",") if n] or [
            n for n in loader.list() if n.startswith("sample_")
        ]
        if not names:
            raise UsageError("no sample_* rules found in RULES_DIR", print_help=False)
        site, url = start_sample_site(opts.books, port=opts.port)
        print(
            f"Sample site: {url} ({opts.books} books); crawling {', '.join(names)} ...", flush=True
        )
        started = time.monotonic()
        crawlers = []
        try:
            for name in names:
                crawler = self.crawler_process.create_crawler(name)
                crawlers.append(crawler)
                self.crawler_process.crawl(crawler, site=url)
            self.crawler_process.start()
        finally:
            site.terminate()
            site.wait(timeout=10)
        elapsed = time.monotonic() - started
        codes = [exit_code(crawler, []) for crawler in crawlers]
        self.print_summary(crawlers, codes, elapsed)
        # The first crawl that did not finish decides, as `scrapy crawl` would for it alone.
        self.exitcode = next((code for code in codes if code), 0)
        if self.crawler_process.bootstrap_failed and not self.exitcode:
            self.exitcode = EXIT_CODES["failed"]

    def print_summary(self, crawlers: list, codes: list[int], elapsed: float) -> None:
        header = f"{'rule':<20} {'pages':>6} {'items':>6} {'new':>5} {'upd':>5} {'same':>5} {'invalid':>7} {'errors':>6}  status"
        print()
        print(header)
        print("-" * len(header))
        totals = [0, 0]
        for crawler, code in zip(crawlers, codes, strict=True):
            stats = crawler.stats.get_stats()
            pages = stats.get("response_received_count", 0)
            items = stats.get("item_scraped_count", 0)
            errors = run_errors(stats).total  # as scrapy store runs, the API and monitors count
            totals[0] += pages
            totals[1] += items
            print(
                f"{crawler.spider.name:<20} {pages:>6} {items:>6} "
                f"{stats.get('store/items/new', 0):>5} {stats.get('store/items/updated', 0):>5} "
                f"{stats.get('store/items/unchanged', 0):>5} {stats.get('rule/items/invalid', 0):>7} {errors:>6}  "
                f"{STATUSES.get(code, code)} ({code})"
            )
        print(f"\n{totals[0]} pages, {totals[1]} items in {elapsed:.1f}s")
        uri = self.settings.get("STORE_URI")
        print(f"Store: {mask_url(uri)}")
        print(
            "Errors are counted per reason in the crawl stats; invalid items are kept in <collection>__dead."
        )
        print(
            "Look at the data:  .venv/bin/scrapy export sample_books -o books.jsonl   (or: scrapy export --list)"
        )
