"""``after:`` (chained runs): the rule's own checks, and those over the rules directory (unknown
names with did-you-mean, loops through rules, tags and tables) at the ``after:`` line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.core.exitcodes import EXIT_CODES
from crawler.rules import RuleError, load_rules
from crawler.rules.chains import chain_json
from crawler.rules.sections.after import RUN_STATUSES
from crawler.spider.project import parse_rule
from tests.crawler.crawl import scrapy

BASE = """\
args: {site: "http://x"}
start: [{url: "{site}/", page: index}]
pages:
  index: {fields: {title: {css: h1}}}
"""


def write(rules: Path, name: str, extra: str = "") -> None:
    (rules / f"{name}.yaml").write_text(f"name: {name}\n{BASE}{extra}", encoding="utf-8")


def test_statuses_are_those_of_the_exit_status_table():
    assert set(RUN_STATUSES) == set(EXIT_CODES)


def test_the_section_is_typed_and_checked_alone():
    rule = parse_rule(BASE + "after: {rules: [a], tags: [gov], when: [finished, stalled]}\n")
    after = rule.section("after")
    assert (after.rules, after.tags, after.when) == (("a",), ("gov",), ("finished", "stalled"))
    assert parse_rule(BASE + "after: {tables: [t]}\n").section("after").when == ("finished",)
    for text, expected in [
        ("after: {rules: [a], when: [done]}\n", "after.when[0]"),
        ("after: {}\n", "names no rule, tag or table"),
        ("after: {rules: [me]}\n", "a rule cannot run after itself"),
    ]:
        with pytest.raises(RuleError) as info:
            parse_rule("name: me\n" + BASE + text, filename="r.yaml")
        assert any(expected in str(p) for p in info.value.problems), info.value.problems


def test_unknown_names_and_loops_are_problems_of_the_ruleset(tmp_path):
    rules = tmp_path / "rules"
    (rules / "tables").mkdir(parents=True)
    (rules / "templates").mkdir()
    write(rules, "list_site", "tags: [gov]\n")
    write(rules, "detail", "after:\n  rules: [list_sit]\n  tags: [gvo]\n  tables: [gov_site]\n")
    # a loop through a tag: a is tagged loop and runs after b; b runs after the tag loop
    write(rules, "a", "tags: [loop]\nafter: {rules: [b]}\n")
    write(rules, "b", "after:\n  tags: [loop]\n")
    write(rules, "ok", "after: {rules: [list_site], when: [finished, monitor_failed]}\n")
    (rules / "templates" / "tpl.yaml").write_text(BASE, encoding="utf-8")
    (rules / "tables" / "gov_sites.yaml").write_text(
        "template: tpl\nsites:\n  - name: row1\n  - name: row2\n    after: {tables: [gov_sites]}\n",
        encoding="utf-8",
    )
    ruleset = load_rules(rules)
    messages = [str(p) for p in ruleset.chains]
    detail = str(rules / "detail.yaml")
    hint = "(did you mean 'list_site'?)"
    assert f"{detail}:7:11: after.rules[0]: no rule named 'list_sit' {hint}" in messages
    assert f"{detail}:8:10: after.tags[0]: no tag named 'gvo' (did you mean 'gov'?)" in messages
    hint = "(did you mean 'gov_sites'?)"
    assert f"{detail}:9:12: after.tables[0]: no site table named 'gov_site' {hint}" in messages
    loops = [m for m in messages if "loops" in m]
    assert f"{rules / 'b.yaml'}:6:1: after: the chain loops (b -> a -> b)" in loops, loops
    assert f"{rules / 'a.yaml'}:7:1: after: the chain loops (a -> b -> a)" in loops, loops
    assert set(ruleset.broken) >= {"a", "b", "detail"} and "a" not in ruleset.rules
    # a table row may run after the other rows of its table: not a loop, not itself
    assert {"ok", "list_site", "row1", "row2"} <= set(ruleset.rules)
    assert chain_json("row2", ruleset.rules)["predecessors"] == ["row1"]
    assert chain_json("list_site", ruleset.rules)["successors"] == ["ok"]
    assert ruleset.errors and all(p in ruleset.problems for p in ruleset.chains)


def test_scrapy_validate_reports_chain_problems(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules, "list_site")
    write(rules, "detail", "after: {rules: [list_sit]}\n")
    proc = scrapy("validate", "-s", f"RULES_DIR={rules}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    hint = "(did you mean 'list_site'?)"
    assert f"{rules / 'detail.yaml'}:6:17: after.rules[0]: no rule named 'list_sit' {hint}" in (
        proc.stdout
    )
    assert "2 rule file(s): 1 ok, 1 with 1 problem(s)" in proc.stdout
