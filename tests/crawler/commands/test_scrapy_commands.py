"""Scrapy's own commands on rule spiders (parse, shell, genspider), the rule scaffold
(``scrapy rules new``) and ``scrapy seed`` errors, run as a user runs them."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

from tests.crawler.crawl import ROOT, scrapy


def rules_dir(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    return rules


def test_parse_runs_the_page_type_whose_match_fits(sample_site):
    proc = scrapy(
        "parse",
        "--spider",
        "sample_books",
        f"{sample_site}/book/3.html",
        "-a",
        f"site={sample_site}",
        "--nolog",
    )
    assert proc.returncode == 0, proc.stderr
    assert "'_page': 'book'" in proc.stdout and "'upc':" in proc.stdout
    assert "NotImplementedError" not in proc.stdout + proc.stderr


def test_parse_callback_names_a_page_type(sample_site):
    proc = scrapy(
        "parse",
        "--spider",
        "sample_books",
        f"{sample_site}/",
        "--callback",
        "index",
        "-a",
        f"site={sample_site}",
        "--nolog",
    )
    assert proc.returncode == 0, proc.stderr
    assert f"<GET {sample_site}/tag/travel/>" in proc.stdout


def test_parse_records_no_run_and_stores_nothing(sample_site, tmp_path):
    store = tmp_path / "items.db"
    proc = scrapy(
        "parse",
        "--spider",
        "sample_books",
        f"{sample_site}/book/3.html",
        "-a",
        f"site={sample_site}",
        "-s",
        f"STORE_URI=sqlite:///{store}",
    )
    assert proc.returncode == 0, proc.stderr
    assert not store.exists()


def test_shell_picks_the_rule_whose_domains_and_pages_match(sample_site):
    proc = scrapy("shell", f"{sample_site}/book/3.html", "-c", "(spider.name, response.status)")
    assert proc.returncode == 0, proc.stderr
    assert "('sample_books', 200)" in proc.stdout


def test_rules_new_writes_a_rule_that_validates_and_previews(sample_site, tmp_path):
    rules = rules_dir(tmp_path)
    proc = scrapy("rules", "new", "shop", f"{sample_site}/tag/travel/", "-s", f"RULES_DIR={rules}")
    assert proc.returncode == 0, proc.stderr
    text = (rules / "shop.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./rule.schema.json")
    assert 'css: "article.book h3 a"' in text and 'next: {css: "li.next a"}' in text
    # what it decided and why, and the sampled detail pages tried and kept as fixtures
    assert "  links: css article.book h3 a, allow ^https?://" in proc.stdout
    assert (
        "  detail pages: extract: product (3 of 3 sampled pages describe a product)" in proc.stdout
    )
    assert proc.stdout.count(": page type detail, 1 item(s), fields availability") == 3
    valid = scrapy("validate", "shop", "-s", f"RULES_DIR={rules}")
    assert valid.returncode == 0, valid.stdout
    preview = scrapy("preview", "shop", f"{sample_site}/book/3.html", "-s", f"RULES_DIR={rules}")
    assert preview.returncode == 0, preview.stderr
    assert '"page": "detail"' in preview.stdout and '"name": "' in preview.stdout
    tested = scrapy("rules", "test", "shop", "-s", f"RULES_DIR={rules}")
    assert tested.returncode == 0 and "3 fixture(s), 3 ok" in tested.stdout, tested.stdout
    again = scrapy("rules", "new", "shop", f"{sample_site}/", "-s", f"RULES_DIR={rules}")
    assert again.returncode != 0 and "exists already" in again.stderr


def test_genspider_points_to_the_rule_scaffold(sample_site, tmp_path):
    rules = rules_dir(tmp_path)
    proc = scrapy("genspider", "books", f"{sample_site}/book/3.html", "-s", f"RULES_DIR={rules}")
    assert proc.returncode == 0, proc.stderr
    assert "scrapy rules new books" in proc.stderr
    assert (rules / "books.yaml").exists()


def test_seed_with_a_broken_start_url_is_a_clear_error():
    proc = scrapy("seed", "sample_books", "-a", "site=", "-s", "REDIS_URL=redis://127.0.0.1:1/0")
    assert proc.returncode != 0
    assert "cannot request 1 start URL(s), e.g. /: Missing scheme in request url: /" in proc.stderr
    assert "Traceback" not in proc.stderr and "AttributeError" not in proc.stderr


def test_seed_with_a_non_http_start_url_is_refused():
    proc = scrapy(
        "seed", "sample_books", "-a", "site=file:///etc", "-s", "REDIS_URL=redis://127.0.0.1:1/0"
    )
    assert proc.returncode != 0
    assert "only http and https URLs can be crawled, not file:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_prints_each_status_and_exits_with_the_first_that_is_not_0(tmp_path):
    from tests.net import free_port

    data = [
        "-s", f"STORE_SPILL_DIR={tmp_path / 'spill'}",
        "-s", f"STORE_JOURNAL_DIR={tmp_path / 'journal'}",
        "-s", f"RUN_LOG_DIR={tmp_path / 'logs'}",
        "-s", f"INCREMENTAL_STATE_URI=sqlite:///{tmp_path / 'seen.db'}",
    ]  # fmt: skip
    rules = ["--rules", "sample_books_table,sample_search", "--books", "10"]
    rules += ["--port", str(free_port())]
    ok = scrapy("demo", *rules, "-s", f"STORE_URI=sqlite:///{tmp_path / 'store.db'}", *data)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert re.search(r"sample_books_table .* finished \(0\)", ok.stdout), ok.stdout
    away = f"STORE_URI=mongodb://127.0.0.1:{free_port()}/demo"
    failed = scrapy("demo", *rules, "-s", away, *data)
    assert failed.returncode == 4, failed.stdout + failed.stderr[-2000:]
    assert re.search(r"sample_search .* start_error \(4\)", failed.stdout), failed.stdout
    assert "Traceback" not in failed.stderr


def demo_counts(store_db: Path) -> dict[str, int]:
    from crawler.store import open_store

    with open_store(f"sqlite:///{store_db}") as store:
        return {name: store.count(name) for name in DEMO_COLLECTIONS}


DEMO_COLLECTIONS = ("sample_books", "sample_books_table")  # keyed by URL


def test_two_demo_runs_leave_one_copy_of_every_book(tmp_path):
    """The sample site runs on the same port every time (items are keyed by URL), so a second
    demo updates the first one's items instead of adding a copy of each; a busy port is a usage
    error, not a silent move to another port."""
    from tests.net import free_port

    env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}  # the demo's store, logs, journal, state
    # the static rules: the rendered one is keyed the same way and costs the most time
    demo = ["demo", "--rules", "sample_books,sample_books_table", "--port", str(free_port())]
    first = scrapy(*demo, env=env, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr[-2000:]
    counts = demo_counts(tmp_path / "data" / "items.db")
    assert counts == {"sample_books": 60, "sample_books_table": 60}
    second = scrapy(*demo, env=env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr[-2000:]
    assert demo_counts(tmp_path / "data" / "items.db") == counts
    assert re.search(r"^sample_books +\d+ +61 +0 +0 +60 +1 ", second.stdout, re.M), second.stdout
    assert re.search(r"^sample_books_table +\d+ +60 +0 +0 +60 ", second.stdout, re.M), second.stdout
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        taken = scrapy("demo", "--port", str(port), env={"CRAWLER_DATA_DIR": str(tmp_path / "x")})
    assert taken.returncode == 2, taken.stdout + taken.stderr[-2000:]
    assert f"port {port} on 127.0.0.1 is in use (another `scrapy demo` still running?)" in (
        taken.stderr
    )
    assert "Traceback" not in taken.stderr and not (tmp_path / "x").exists()


def test_shell_and_parse_keep_no_run_log_or_journal(sample_site, tmp_path):
    data = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
    shell = scrapy("shell", f"{sample_site}/book/1.html", "-c", "response.status", env=data)
    assert shell.returncode == 0 and shell.stdout.strip().endswith("200"), shell.stderr[-2000:]
    url = f"{sample_site}/book/1.html"
    parse = scrapy("parse", "--spider", "sample_books", url, "-a", f"site={sample_site}", env=data)
    assert parse.returncode == 0, parse.stderr[-2000:]
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("*"))
