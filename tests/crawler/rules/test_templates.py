"""Templates (crawler/rules/inherit.py): ``extends:`` merges maps deeply, replaces lists and
scalars, removes with null, never inherits a name; problems point at the line that caused them
through the chain; a loop, a missing or a broken template is one clear problem; an edited
template recompiles the rules that use it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from crawler.rules import RuleError, load_rule, load_rules
from crawler.rules.compiler import effective_data
from crawler.rules.inherit import merge

NOTICE = """\
description: Notices of one CMS.
args:
  site: null
  section: notices
tags: [gov]
start:
  - url: "{site}/{section}/"
    page: list
pages:
  list:
    rows:
      css: ul.list li
      fields:
        title: {css: "a::text", required: true}
        url: {css: "a::attr(href)", clean: [absolute_url]}
        date: {css: "span.date::text"}
    pagination:
      next: {css: a.next}
"""


def write(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    base = tmp_path / "rules"
    write(base, "templates/notice.yaml", NOTICE)
    return base


def test_merge_maps_deeply_replaces_lists_and_removes_with_null():
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": 1}
    over = {"a": {"c": [3], "d": {"h": 2}}, "f": "y", "g": None, "i": 4}
    assert merge(base, over) == {"a": {"b": 1, "c": [3], "d": {"e": 1, "h": 2}}, "f": "y", "i": 4}
    assert base["a"]["c"] == [1, 2]  # the template is not changed


def test_a_rule_is_its_template_with_its_own_parts(rules):
    write(
        rules,
        "site_a.yaml",
        """\
        extends: notice
        args: {site: "http://127.0.0.1:9"}
        tags: [north]
        pages:
          list:
            rows:
              fields:
                date: null
                title: {css: "a.t::text"}
        """,
    )
    rule = load_rule(rules / "site_a.yaml")
    assert rule.name == "site_a" and rule.tags == ("north",)  # lists replace
    assert dict(rule.args) == {"site": "http://127.0.0.1:9", "section": "notices"}
    rows = rule.pages["list"].rows
    assert [f.name for f in rows.fields] == ["title", "url"]  # date removed
    title = rows.fields[0]
    assert title.selector.css == "a.t::text" and title.required  # merged, not replaced
    assert rule.inherits == (rules / "templates" / "notice.yaml",)
    shown = effective_data(rule)
    assert shown["pages"]["list"]["pagination"] == {"next": {"css": "a.next"}}
    assert shown["extends"] == "notice" and "date" not in shown["pages"]["list"]["rows"]["fields"]


def test_a_name_is_never_inherited_and_a_rule_may_extend_a_rule(rules):
    write(rules, "first.yaml", "name: first\nextends: notice\nargs: {site: 'http://h'}\n")
    write(rules, "second.yaml", "extends: first\n")
    ruleset = load_rules(rules)
    assert not ruleset.errors, ruleset.errors
    second = ruleset.rules["second"]
    assert dict(second.args)["site"] == "http://h"
    assert second.inherits == (rules / "templates" / "notice.yaml", rules / "first.yaml")


def test_a_problem_a_template_gave_is_shown_through_the_chain(rules):
    write(
        rules,
        "templates/base.yaml",
        """\
        args: {site: null}
        start: [{url: "{site}/", page: list}]
        pages:
          list:
            fields:
              title: {css: "h1::text"}
              broken: {xpath: "//a[", required: true}
        """,
    )
    write(rules, "templates/mid.yaml", "# the middle\nextends: base\ntags: [news]\n")
    site = write(rules, "site.yaml", "# a site\n\nextends: mid\nargs: {site: 'http://h'}\n")
    with pytest.raises(RuleError) as caught:
        load_rule(site)
    (problem,) = caught.value.problems
    templates = rules / "templates"
    assert str(problem) == (
        f"{site}:3:1 ← {templates / 'mid.yaml'}:2:1 ← {templates / 'base.yaml'}:7:16: "
        "pages.list.fields.broken.xpath: invalid XPath '//a[': Invalid expression"
    )
    # the rule's own mistake is at its own line, with no chain
    write(rules, "own.yaml", "extends: mid\nargs: {site: 'http://h'}\nstart: [{url: 1}]\n")
    with pytest.raises(RuleError) as caught:
        load_rule(rules / "own.yaml")
    own = [p for p in caught.value.problems if p.path.startswith("start")]
    assert own and all(p.line == 3 and not p.via for p in own)


@pytest.mark.parametrize(
    ("extends", "message"),
    [
        ("notic", "no template 'notic' in"),
        ("../etc/passwd", "extends: names a template (letters, digits, _ and -)"),
        ("loop_a", "extends: loops (loop_a.yaml ← loop_b.yaml ← loop_a.yaml)"),
        ("broken", "template 'broken': invalid YAML"),
        ("huge", "template 'huge': template is larger than"),
    ],
)
def test_a_template_that_cannot_be_used_is_one_problem_at_the_extends_line(rules, extends, message):
    write(rules, "templates/loop_a.yaml", "extends: loop_b\n")
    write(rules, "templates/loop_b.yaml", "extends: loop_a\n")
    write(rules, "templates/broken.yaml", "a: [\n")
    write(rules, "templates/huge.yaml", "description: " + "x" * 1_000_001 + "\n")
    site = write(rules, "site.yaml", f"description: s\nextends: '{extends}'\n")
    with pytest.raises(RuleError) as caught:
        load_rule(site)
    problems = [p for p in caught.value.problems if message in str(p)]
    assert problems, [str(p) for p in caught.value.problems]
    assert problems[0].file == str(site) and problems[0].line == 2
    if extends == "notic":
        assert "(did you mean 'notice'?)" in problems[0].message


def test_a_changed_template_recompiles_the_rules_that_use_it(rules):
    write(rules, "site.yaml", "extends: notice\nargs: {site: 'http://h'}\n")
    assert load_rules(rules).rules["site"].description == "Notices of one CMS."
    template = rules / "templates" / "notice.yaml"
    template.write_text(NOTICE.replace("of one CMS", "changed"), encoding="utf-8")
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_rules(rules).rules["site"].description == "Notices changed."
    template.write_text(NOTICE.replace("css: ul.list li", "css: 'ul['"), encoding="utf-8")
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    ruleset = load_rules(rules)
    assert "site" not in ruleset.rules and any("ul[" in str(p) for p in ruleset.errors)
