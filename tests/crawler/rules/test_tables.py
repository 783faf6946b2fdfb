"""Site tables (crawler/rules/tables.py): every row of a YAML or CSV table is a rule of its own
(`scrapy list`, `scrapy crawl ROW`, `scrapy rules show ROW`), a bad row is a problem of that row
only, at its line, and `scrapy crawl --tag` crawls every tagged rule in one process, each with
its own run record, one failing rule stopping none of the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.rules import load_rules
from crawler.rules.compiler import load_table
from crawler.store import open_store
from tests.crawler.crawl import scrapy, store_args

# A family of sites: the sample site's tag lists, one list per site of the table.
CATALOGUE = """\
description: Books of one tag list of a catalogue.
args:
  site: null
  tag: misc
tags: [books]
item: {key: [url]}
start:
  - url: "{site}/tag/{tag}/"
    page: tag_list
pages:
  tag_list:
    rows:
      css: article.book
      fields:
        title: {css: "h3 a::text", required: true}
        url: {css: "h3 a::attr(href)", clean: [absolute_url]}
    pagination:
      next: {css: li.next a}
"""

TABLE = """\
template: catalogue
tags: [catalogue]
sites:
  - name: cat_travel
    args: {site: "SITE", tag: travel}
    tags: [travel]
  - name: cat_poetry
    args: {site: "SITE", tag: poetry}
  - name: cat_broken
    args: {site: "SITE"}
    pages: {tag_list: {rows: {css: "article["}}}
  - args: {site: "SITE"}
  - name: cat_start
    start: ["SITE/tag/science/", "SITE/tag/mystery/"]
    item: {collection: cat_start_books}
"""

CSV = """\
name,template,start,tags,args.site,args.tag,pages.tag_list.rows.css,settings.DOWNLOAD_DELAY
csv_misc,catalogue,,csv catalogue,SITE,misc,,0
csv_bad,catalogue,,csv,SITE,misc,"div[",
csv_start,catalogue,SITE/tag/travel/,csv,SITE,,,0.0
"""


def project(tmp_path: Path, site: str = "http://127.0.0.1:9") -> Path:
    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    (rules / "tables").mkdir()
    (rules / "templates" / "catalogue.yaml").write_text(CATALOGUE, encoding="utf-8")
    (rules / "tables" / "catalogue.yaml").write_text(TABLE.replace("SITE", site), "utf-8")
    (rules / "tables" / "shops.csv").write_text(CSV.replace("SITE", site), "utf-8")
    return rules


def test_every_row_is_a_rule_and_a_bad_row_is_a_problem_of_its_own_line(tmp_path):
    rules = project(tmp_path)
    ruleset = load_rules(rules)
    assert set(ruleset.rules) == {"cat_travel", "cat_poetry", "cat_start", "csv_misc", "csv_start"}
    assert set(ruleset.broken) == {"cat_broken", "csv_bad"}
    table = rules / "tables" / "catalogue.yaml"
    lines = {(p.file, p.line) for p in ruleset.errors}
    assert (str(table), 11) in lines  # cat_broken's css, at its own line
    assert (str(table), 12) in lines  # the row without a name
    assert (str(rules / "tables" / "shops.csv"), 3) in lines
    (css,) = [p for p in ruleset.broken["cat_broken"] if "article[" in p.message]
    assert css.line == 11 and css.path == "pages.tag_list.rows.css"
    nameless = [p for p in ruleset.errors if p.line == 12]
    assert nameless[0].message.startswith("a site needs a name")

    travel = ruleset.rules["cat_travel"]
    assert travel.tags == ("catalogue", "travel") and travel.row == 4
    assert dict(travel.args) == {"site": "http://127.0.0.1:9", "tag": "travel"}
    assert travel.inherits == (rules / "templates" / "catalogue.yaml",)
    # start URLs take the template's first start entry as their pattern
    start = ruleset.rules["cat_start"].section("start")
    assert [(s.urls, s.page) for s in start] == [
        (("http://127.0.0.1:9/tag/science/",), "tag_list"),
        (("http://127.0.0.1:9/tag/mystery/",), "tag_list"),
    ]
    csv_misc = ruleset.rules["csv_misc"]
    assert csv_misc.tags == ("csv", "catalogue") and csv_misc.row == 2
    assert csv_misc.crawl_settings["DOWNLOAD_DELAY"] == 0  # a number, not the text "0"
    assert dict(ruleset.rules["csv_start"].args) == {"site": "http://127.0.0.1:9", "tag": "misc"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("t.yaml", "- a\n", "a site table is a mapping with a list of sites"),
        ("t.yaml", "sites: []\ntemplates: x\n", "unknown table key 'templates'"),
        ("t.csv", "title,template\nx,y\n", "a CSV site table needs a name column"),
        ("t.csv", "name,args..site\nx,y\n", "column 'args..site' is not a path"),
        ("t.csv", "name\nx,y\n", "2 cells for 1 columns"),
    ],
)
def test_a_file_that_is_not_a_table_says_why(tmp_path, name, text, message):
    rules = project(tmp_path)
    path = rules / "tables" / name
    path.write_text(text, encoding="utf-8")
    ruleset = load_rules(rules)
    assert any(p.file == str(path) and message in p.message for p in ruleset.errors), [
        str(p) for p in ruleset.errors
    ]
    assert "cat_travel" in ruleset.rules  # the other tables still count


def test_a_thousand_row_table_is_one_file_of_a_thousand_rules(tmp_path):
    rules = project(tmp_path)
    rows = "".join(
        f"  - {{name: site_{i:04d}, args: {{site: 'http://127.0.1.{i % 250 + 1}:8000'}}}}\n"
        for i in range(1000)
    )
    path = rules / "tables" / "many.yaml"
    path.write_text(f"template: catalogue\nsites:\n{rows}", encoding="utf-8")
    table = load_table(path)
    assert len(table.rules) == 1000 and not table.problems
    assert table.rules[999].row == 1002


def run(tmp_path: Path, rules: Path, *args: str, timeout: float = 180):
    env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
    settings = [*store_args(tmp_path), "-s", f"RULES_DIR={rules}", "-s", "INCREMENTAL_STATE_URI="]
    return scrapy(*args, *settings, env=env, timeout=timeout)


def stored(tmp_path: Path) -> dict[str, str]:
    """Each rule's last run status, from the run records of the store."""
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        return {run["rule"]: run["status"] for run in reversed(store.runs(limit=100))}


def count(tmp_path: Path, collection: str) -> int:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        return store.count(collection)


def test_a_row_is_listed_shown_and_crawled_and_a_broken_row_lists_its_problems(
    tmp_path, sample_site
):
    rules = project(tmp_path, sample_site)
    listed = run(tmp_path, rules, "list")
    assert listed.returncode == 0
    names = listed.stdout.split()
    assert {"cat_travel", "cat_poetry", "csv_misc"} <= set(names) and "cat_broken" not in names

    shown = run(tmp_path, rules, "rules", "show", "cat_travel")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"# cat_travel: {rules / 'tables' / 'catalogue.yaml'}:4 <- ")
    assert "tag: travel" in shown.stdout and "css: article.book" in shown.stdout

    crawled = run(tmp_path, rules, "crawl", "cat_travel")
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    assert stored(tmp_path) == {"cat_travel": "finished"}
    # every item says which version of the rule produced it
    version = load_rules(rules).rules["cat_travel"].version
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        items = list(store.find("cat_travel"))
    assert items and {item["_rule_version"] for item in items} == {version}

    broken = run(tmp_path, rules, "crawl", "cat_broken")
    assert broken.returncode == 3
    assert "rule 'cat_broken' has problems" in broken.stderr
    assert "catalogue.yaml:11:" in broken.stderr and "Traceback" not in broken.stderr


def test_crawl_by_tag_runs_every_tagged_rule_in_one_process(tmp_path, sample_site):
    rules = project(tmp_path, sample_site)
    proc = run(tmp_path, rules, "crawl", "--tag", "csv", timeout=240)
    # csv_bad has problems: listed and counted (exit 3); the two others ran to the end
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "rule 'csv_bad' has problems" in proc.stderr
    # one crawl of both sites (crawler/spider/site_group.py): a record each, and the crawl's
    assert stored(tmp_path) == {
        "csv_misc": "finished",
        "csv_start": "finished",
        "tag:csv": "finished",
    }
    summary = [line for line in proc.stderr.splitlines() if ": exit " in line]
    assert summary == ["csv_bad: exit 3", "csv_misc: exit 0", "csv_start: exit 0"]
    assert count(tmp_path, "csv_misc") > 0 and count(tmp_path, "csv_start") > 0
    # a whole table is a group too (crawl_group, as above): its rows, broken ones included
    from scrapy.settings import Settings

    from crawler.spider.loader import RuleSpiderLoader

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("RULES_DIR", str(rules), priority="cmdline")
    loader = RuleSpiderLoader(settings)
    assert loader.in_table("shops") == ["csv_bad", "csv_misc", "csv_start"]
    assert loader.all_tables() == ["catalogue", "shops"]

    table = run(tmp_path, rules, "crawl", "--table", "nope")
    assert (
        table.returncode == 2 and "no site table 'nope' (tables: catalogue, shops)" in table.stderr
    )

    unknown = run(tmp_path, rules, "crawl", "--tag", "nope")
    assert unknown.returncode == 2
    assert "no rule has the tag 'nope' (tags: catalogue, csv, travel)" in unknown.stderr


def test_validate_counts_rows_and_reports_each_bad_one(tmp_path):
    rules = project(tmp_path)
    proc = run(tmp_path, rules, "validate")
    assert proc.returncode == 1
    assert "8 site table row(s): 5 ok, 3 with 3 problem(s)" in proc.stdout, proc.stdout
    one = run(tmp_path, rules, "validate", "shops")
    assert "3 site table row(s): 2 ok, 1 with 1 problem(s)" in one.stdout, one.stdout
