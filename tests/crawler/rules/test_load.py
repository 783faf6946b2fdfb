"""Rule loading and validation: every problem with file, line, column, field path and message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.rules import RuleError, load_rules
from crawler.rules.schema import schema_json
from crawler.spider.project import parse_rule

ROOT = Path(__file__).resolve().parents[3]

GOOD = """\
name: good
args: {site: "http://127.0.0.1:1"}
start:
  - url: "{site}/list/{1..3}"
    page: listing
pages:
  listing:
    rows:
      css: li
      fields:
        url: {css: "a::attr(href)"}
    links:
      - css: a.next
        to: listing
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        parse_rule(text, filename="r.yaml")
    return [str(p) for p in info.value.problems]


def test_good_rule_parses_into_typed_objects():
    rule = parse_rule(GOOD, filename="good.yaml")
    assert rule.name == "good"
    assert rule.start[0].urls == ("{site}/list/{1..3}",)
    assert rule.pages["listing"].rows.fields[0].selector.css == "a::attr(href)"
    with pytest.raises(TypeError):
        rule.pages["new"] = None  # read-only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("    page: listing", "    page: listin"),
            "r.yaml:5:5: start[0].page: no page type named 'listin' (did you mean 'listing'?)",
        ),
        (
            GOOD.replace("        to: listing", "        to: detail"),
            "r.yaml:14:9: pages.listing.links[0].to: no page type named 'detail'",
        ),
        (
            GOOD.replace("    rows:", "    rowz:"),
            "r.yaml:8:5: pages.listing.rowz: unknown field 'rowz' (did you mean 'rows'?)",
        ),
        (
            GOOD.replace('{css: "a::attr(href)"}', '{css: "a::attr(href"}'),
            "r.yaml:11:15: pages.listing.rows.fields.url.css: invalid CSS selector 'a::attr(href': "
            "Expected an argument, got <EOF at 12>",
        ),
        (
            GOOD.replace('{css: "a::attr(href)"}', '{xpath: "//a[@href"}'),
            "r.yaml:11:15: pages.listing.rows.fields.url.xpath: invalid XPath '//a[@href': Invalid predicate",
        ),
        (
            GOOD.replace('{css: "a::attr(href)"}', '{css: a, regex: "(a"}'),
            "r.yaml:11:23: pages.listing.rows.fields.url.regex: invalid regular expression '(a': "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            GOOD.replace('{css: "a::attr(href)"}', '{json: "items[?"}'),
            "r.yaml:11:15: pages.listing.rows.fields.url.json: invalid JMESPath 'items[?': the expression ends too early",
        ),
        (
            GOOD.replace('{css: "a::attr(href)"}', "{css: a, clean: [strp]}"),
            "r.yaml:11:31: pages.listing.rows.fields.url.clean[0]: unknown cleaner 'strp' (did you mean 'strip'?)",
        ),
        (
            GOOD.replace('{css: "a::attr(href)"}', "{css: a, all: maybe}"),
            "r.yaml:11:23: pages.listing.rows.fields.url.all: expected true or false, got a string",
        ),
        (
            GOOD.replace('"{site}/list/{1..3}"', '"{sit}/list"'),
            "r.yaml:4:5: start[0].url: uses {sit}, which is not declared under args (did you mean 'site'?)",
        ),
        (
            GOOD.replace("    page: listing\n", "    page: listing\n    method: FETCH\n"),
            "r.yaml:6:5: start[0].method: must be one of GET, POST, PUT, PATCH, DELETE, HEAD; got 'FETCH'",
        ),
        (
            GOOD.replace("start:", "strat:"),
            "r.yaml:3:1: strat: unknown field 'strat' (did you mean 'start'?)",
        ),
        (
            GOOD + "settings: {DOWNLOAD_DELAYS: 2}\n",
            "r.yaml:15:12: settings.DOWNLOAD_DELAYS: unknown setting "
            "'DOWNLOAD_DELAYS' (did you mean 'DOWNLOAD_DELAY'?)",
        ),
        (GOOD + "encoding: klingon\n", "r.yaml:15:1: encoding: unknown encoding 'klingon'"),
        (
            GOOD.replace(
                "    rows:\n      css: li\n", "    rows:\n      css: li\n      emit: true\n"
            ).replace("url: {css", "name: {css"),
            "r.yaml:8:5: pages.listing.rows: rows make several items per page, so they need a key: set item.key, "
            "or extract a 'url' field",
        ),
        (
            "name: x\nstart: [\n",
            "r.yaml:3:1: invalid YAML: while parsing a flow node, expected the node content, but found '<stream end>'",
        ),
        (GOOD + "name: again\n", "r.yaml:15:1: name: duplicate key 'name' (first at line 1)"),
        ("- just\n- a list\n", "r.yaml:1:1: a rule file must be a mapping, got a list"),
    ],
)
def test_each_problem_is_reported_with_its_position(text, expected):
    assert expected in problems(text)


def test_all_problems_of_a_file_are_reported_together():
    text = GOOD.replace("to: listing", "to: nowhere").replace("page: listing", "page: nowhere")
    found = problems(text)
    assert len(found) == 2
    assert [p.split(":")[1] for p in found] == ["5", "14"]  # sorted by line


def test_pagination_needs_exactly_one_style():
    text = GOOD + "    pagination: {next: {css: a}, offset: {param: o}}\n"
    assert any(
        "needs exactly one style of next, pages, offset or cursor (found next and offset)" in p
        for p in problems(text)
    )


def test_shipped_rules_are_valid():
    ruleset = load_rules(ROOT / "rules")
    rules, found = ruleset.rules, list(ruleset.problems)
    assert found == []
    assert list(ruleset.item_types) == ["book"]  # rules/types/book.yaml, read once with the rules
    assert {
        "sample_books",
        "sample_api",
        "sample_search",
        "sample_news_gbk",
        "sample_books_table",
    } <= set(rules)
    assert rules["books_toscrape"].needs_internet and not rules["sample_books"].needs_internet


def test_a_broken_file_does_not_hide_the_others(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(GOOD.replace("to: listing", "to: nowhere"))
    ruleset = load_rules(tmp_path)
    rules, found = ruleset.rules, ruleset.problems
    assert list(rules) == ["good"]
    assert len(found) == 1 and found[0].file.endswith("bad.yaml")


def test_shipped_json_schema_is_current():
    shipped = (ROOT / "rules" / "rule.schema.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == json.loads(schema_json()), (
        "run `make schema` to regenerate rules/rule.schema.json"
    )
