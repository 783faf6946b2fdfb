"""One pass of validation: schema problems never hide the platform's checks of the parts the
schema accepted (a misspelt key beside a broken XPath shows both), and no schema problem makes a
section's checker fail."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from scrapy.utils.project import get_project_settings

from crawler.rules import RuleError, compile_rule
from crawler.rules.itemtypes import ItemType
from crawler.spider.project import compile_context

BOOK = ItemType.from_dict(
    {"name": "book", "fields": {"title": {"type": "string"}, "url": {"type": "string"}}}
)
CONTEXT = compile_context(get_project_settings(), item_types={"book": BOOK})

RULE = """\
name: shop
args: {site: "http://127.0.0.1:1"}
headers: {X-Site: "{site}"}
item: {type: book, key: url}
start:
  - url: "{site}/list"
    page: listing
    headers: {X-A: "1"}
    carry: {from: start}
pages:
  listing:
    match: /list
    fields:
      heading: {css: "h1::text", clean: [strip]}
    rows:
      css: li
      fields:
        url: {css: "a::attr(href)", clean: [absolute_url]}
      links:
        - {css: a, to: book, allow: /b/, deny: [/x/], carry: [url, heading], max_depth: 3}
    pagination: {next: {css: a.next}, max_pages: 5}
    emit: false
  book:
    match: /b/
    item: {map: {title: name}}
    fetch: once
    refresh_after: 7d
    fields:
      name: {xpath: "//h1/text()", required: true, clean: [collapse_whitespace]}
      tags: {css: .tag, all: true, clean: [join]}
      price: {css: .price, regex: '(\\d+)', default: 0}
"""


def compile_text(text: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        compile_rule(text, filename="r.yaml", context=CONTEXT)
    return [str(p) for p in info.value.problems]


def test_the_rule_used_here_is_valid():
    rule = compile_rule(RULE, filename="r.yaml", context=CONTEXT)
    assert set(rule.pages) == {"listing", "book"}


BAD_XPATH = RULE.replace('{xpath: "//h1/text()"', '{xpath: "//h1[text()"')
XPATH_PROBLEM = (
    "r.yaml:{line}:14: pages.book.fields.name.xpath: invalid XPath '//h1[text()': Invalid predicate"
)


@pytest.mark.parametrize(
    ("text", "typo", "xpath_line"),
    [
        (  # top level
            BAD_XPATH + "heders: {X-B: b}\n",
            "r.yaml:32:1: heders: unknown field 'heders' (did you mean 'headers'?)",
            29,
        ),
        (  # page level
            BAD_XPATH.replace("    refresh_after: 7d\n", "    refresh_after: 7d\n    priorty: 3\n"),
            "r.yaml:28:5: pages.book.priorty: unknown field 'priorty' (did you mean 'priority'?)",
            30,
        ),
        (  # in another field of the same page
            BAD_XPATH.replace("      price:", "      isbn: {css: h2, requird: true}\n      price:"),
            "r.yaml:31:23: pages.book.fields.isbn.requird: unknown field 'requird' "
            "(did you mean 'required'?)",
            29,
        ),
        (  # in the same field
            BAD_XPATH.replace("required: true, clean", "requird: true, clean"),
            "r.yaml:29:36: pages.book.fields.name.requird: unknown field 'requird' "
            "(did you mean 'required'?)",
            29,
        ),
    ],
)
def test_a_misspelt_key_and_a_broken_xpath_are_both_reported(text, typo, xpath_line):
    found = compile_text(text)
    assert sorted(found) == sorted([typo, XPATH_PROBLEM.format(line=xpath_line)])


def test_a_misspelt_selector_key_is_one_problem_not_two():
    # without its misspelt key the field has no selector: that follows from the typo
    found = compile_text(RULE.replace("{css: .tag, all: true", "{csss: .tag, all: true"))
    assert found == [
        "r.yaml:30:14: pages.book.fields.tags.csss: unknown field 'csss' (did you mean 'css'?)"
    ]


def test_a_wrong_type_in_one_field_leaves_the_other_fields_checked():
    found = compile_text(RULE.replace("all: true", "all: maybe").replace("//h1/text()", "//h1["))
    assert found == [
        "r.yaml:29:14: pages.book.fields.name.xpath: invalid XPath '//h1[': Invalid expression",
        "r.yaml:30:25: pages.book.fields.tags.all: expected true or false, got a string",
    ]


def test_a_cleaner_with_two_keys_is_worded_for_its_item():
    found = compile_text(RULE.replace("clean: [join]", "clean: [{join: ', ', first: null}]"))
    assert found == [
        "r.yaml:30:44: pages.book.fields.tags.clean[0]: takes one key; found join, first"
    ]


def test_a_misspelt_key_in_a_one_key_action_is_reported_once():
    text = RULE.replace(
        "    fetch: once\n", "    fetch: once\n    render: {actions: [{scrol: 2}]}\n"
    )
    assert compile_text(text) == [
        "r.yaml:27:25: pages.book.render.actions[0].scrol: unknown field 'scrol'"
        " (did you mean 'scroll'?)"
    ]


# -- no shape of a value makes a checker fail --------------------------------------------------


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, path + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, path + (index,))


def _variants() -> Iterator[tuple[tuple, Any, str]]:
    from crawler.rules.yamlpos import load_yaml

    data, _ = load_yaml(RULE, "r.yaml")
    for path in list(_paths(data))[1:]:
        for wrong in ([1], {"zz": 1}):
            changed = copy.deepcopy(data)
            parent = changed
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = wrong
            yield path, wrong, json.dumps(changed)  # JSON is YAML


def test_no_wrong_shape_of_any_value_makes_a_checker_fail():
    """A checker that fails says "cannot check this section: KeyError: ..." instead of what is
    wrong: whatever a value is replaced with, the problems are the file's."""
    refused = 0
    for path, wrong, text in _variants():
        try:
            compile_rule(text, filename="r.yaml", context=CONTEXT)
        except RuleError as exc:
            messages = [p.message for p in exc.errors]
            assert not any("cannot check" in m for m in messages), (path, wrong, messages)
            refused += 1
    assert refused > 100  # most of RULE's values, replaced by a list or a mapping, are errors
