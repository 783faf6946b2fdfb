"""The ``archive:`` section: its forms, its checks at file:line:column, the settings it maps to,
and that a rule can never name where the archive goes."""

from __future__ import annotations

import pytest

from crawler.defaults import catalog
from crawler.rules import RuleError
from crawler.rules.sections.archive import ArchiveSpec, parse_size
from crawler.spider.project import parse_rule

BASE = """start:
  - url: http://x.test/
    page: p
{archive}pages:
  p:
    fields: {{t: {{css: title}}}}
  q:
    fields: {{t: {{css: h1}}}}
"""


def rule(archive: str = ""):
    return parse_rule(BASE.format(archive=archive), filename="r.yaml")


def problems(archive: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        rule(archive)
    return [str(p) for p in info.value.problems]


def archive_settings(compiled) -> dict:
    return {k: v for k, v in compiled.crawl_settings.items() if k.startswith("ARCHIVE_")}


def test_no_section_and_false_archive_nothing():
    for text in ("", "archive: false\n"):
        compiled = rule(text)
        assert compiled.section("archive") is None
        assert archive_settings(compiled) == {}


def test_true_switches_the_archive_on_with_the_projects_bounds():
    compiled = rule("archive: true\n")
    assert compiled.section("archive") == ArchiveSpec()
    assert archive_settings(compiled) == {"ARCHIVE_ENABLED": True}


def test_a_mapping_sets_its_bounds_and_page_types():
    compiled = rule("archive: {max_size: 500MB, max_age: 90d, pages: [q]}\n")
    assert compiled.section("archive") == ArchiveSpec(500_000_000, 90 * 86400.0, ("q",))
    assert archive_settings(compiled) == {
        "ARCHIVE_ENABLED": True,
        "ARCHIVE_MAX_BYTES": 500_000_000,
        "ARCHIVE_MAX_AGE": 90 * 86400.0,
        "ARCHIVE_PAGES": ["q"],
    }
    assert rule("archive: {max_size: 2GiB}\n").section("archive").max_bytes == 2 * 1024**3
    known = catalog()
    for name, value in archive_settings(compiled).items():  # each is a declared setting
        assert known.get(name).value_problem(value) is None, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("archive: {max_size: 5KB}\n", "r.yaml:4:11: archive.max_size: must be between 1MB and 1TB"),
        ("archive: {max_size: 2TB}\n", "r.yaml:4:11: archive.max_size: must be between 1MB and 1TB"),
        ("archive: {max_size: 10}\n", "r.yaml:4:11: archive.max_size: 10 is less than the minimum of 1000000"),
        ("archive: {max_size: 5XB}\n", "r.yaml:4:11: archive.max_size: '5XB' is not a valid name here"),
        ("archive: {max_age: 10s}\n", "r.yaml:4:11: archive.max_age: must be between 1h and 3650d"),
        ("archive: {max_age: soon}\n", "r.yaml:4:11: archive.max_age:"),
        ("archive: {pages: [p, x]}\n", "r.yaml:4:22: archive.pages[1]: no page type named 'x'"),
        ("archive: {pages: []}\n", "r.yaml:4:11: archive.pages: must not be empty"),
        ("archive: {path: /etc/passwd}\n", "r.yaml:4:11: archive.path: unknown field 'path'"),
        ("archive: {dir: data}\n", "r.yaml:4:11: archive.dir: unknown field 'dir'"),
        ("archive: yes please\n", "r.yaml:4:1: archive: expected true or false or a mapping"),
    ],
)  # fmt: skip
def test_problems_are_reported_where_they_are(text, expected):
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_the_archives_place_and_ceiling_are_not_the_rules_to_set():
    found = problems("archive: true\nsettings: {ARCHIVE_DIR: /tmp/x, ARCHIVE_LIMIT_BYTES: 1}\n")
    assert any("settings.ARCHIVE_DIR" in p for p in found), found
    assert any("settings.ARCHIVE_LIMIT_BYTES" in p for p in found), found


def test_sizes():
    assert parse_size("1MB") == 1_000_000
    assert parse_size(" 1.5 KiB ") == 1536
    assert parse_size("3B") == 3
    with pytest.raises(ValueError):
        parse_size("3 iB")
