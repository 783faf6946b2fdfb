"""``scrapy rules repair``: the sample site changes its book page template; the fields of
rules/sample_books.yaml are found again from what its fixtures keep, proposed as a diff, and
written only when asked (crawler/spider/repair.py, crawler/commands/repair.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crawler.spider.repair import apply
from tests.crawler.crawl import ROOT, scrapy
from tests.sample_site import SampleSite


def project(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(ROOT / "rules" / "sample_books.yaml", rules)
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    return rules


def preview(rules: Path, site: str, path: str, *extra: str) -> dict:
    settings = ["-s", f"RULES_DIR={rules}", "-a", f"site={site}"]
    proc = scrapy("preview", "sample_books", f"{site}{path}", *settings, *extra)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)["items"][0]


def fields(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def test_repair_finds_every_field_again_on_the_new_template_and_writes_only_when_asked(tmp_path):
    rules = project(tmp_path)
    with SampleSite() as site:  # the template the rule was written for: fixtures kept
        for path in ("/book/3.html", "/book/7.html"):
            preview(rules, site.url, path, "--save")
        before = fields(preview(rules, site.url, "/book/5.html"))
    text = (rules / "sample_books.yaml").read_text(encoding="utf-8")
    settings = ["-s", f"RULES_DIR={rules}", "-s", f"RULE_HISTORY_DIR={tmp_path / 'history'}"]
    with SampleSite(redesign=True) as site:
        broken = fields(preview(rules, site.url, "/book/5.html"))
        assert broken["title"] is None and broken["price"] is None  # the rule broke
        shown = scrapy("rules", "repair", "sample_books", "-a", f"site={site.url}", *settings)
        assert shown.returncode == 0, shown.stdout + shown.stderr[-2000:]
        assert "pages.book.fields.title: 'div.product_main h1::text' now gives None" in shown.stdout
        assert '+      title: {css: "h2.book-title::text", required: true' in shown.stdout
        assert "+        xpath: \"//dt[normalize-space(.)='Published']" in shown.stdout
        assert "not written: run again with --write" in shown.stdout
        assert (rules / "sample_books.yaml").read_text(encoding="utf-8") == text

        written = scrapy(
            "rules", "repair", "sample_books", "-a", f"site={site.url}", "--write",
            "--author", "ana", *settings,
        )  # fmt: skip
        assert written.returncode == 0, written.stdout + written.stderr[-2000:]
        assert "sample_books: repaired, saved as version" in written.stdout
        # a page that is not a fixture gives what it gave on the old template
        after = fields(preview(rules, site.url, "/book/5.html"))
    assert after == before and after["title"] and after["published"]
    history = scrapy("rules", "history", "sample_books", *settings)
    assert "ana" in history.stdout and "scrapy rules repair" in history.stdout

    with SampleSite() as site:  # and back: the repaired rule is repaired for the old template
        again = scrapy("rules", "repair", "sample_books", "-a", f"site={site.url}", *settings)
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert "pages.book.fields.title: 'h2.book-title::text' now gives None" in again.stdout


def test_apply_replaces_a_flow_or_a_block_selector_and_leaves_the_rest():
    text = (
        "pages:\n"
        "  book:\n"
        "    fields:\n"
        '      title: {css: "h1::text", required: true}\n'
        "      published:\n"
        "        xpath: //td/text()   # the date\n"
        "        clean: [date]\n"
        "  list:\n"
        "    fields:\n"
        '      title: {css: "h2::text"}\n'
    )
    flow = apply(text, "book", "title", ("css", "h2.t::text"))
    assert flow is not None and '      title: {css: "h2.t::text", required: true}\n' in flow
    assert '      title: {css: "h2::text"}' in flow  # another page type's field untouched
    block = apply(text, "book", "published", ("xpath", "//dd[1]/text()"))
    assert block is not None and '        xpath: "//dd[1]/text()"' in block
    assert "        clean: [date]\n" in block
    assert apply(text, "book", "missing", ("css", "x")) is None
