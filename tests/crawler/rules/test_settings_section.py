"""A rule's settings: documented settings are accepted, mistyped values are errors at their
line, and a rule cannot set what names code, files or outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.defaults import catalog
from crawler.rules import RuleError
from crawler.spider.project import parse_rule
from tests.crawler.crawl import ROOT, scrapy

BASE = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"


def rule_with(settings_yaml: str) -> str:
    return BASE + "settings:\n" + settings_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        parse_rule(text, filename="r.yaml")
    return [str(p) for p in info.value.problems]


def documented_settings() -> set[str]:
    """Every setting named in a table row of the README or docs/."""
    names: set[str] = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("|"):
                names.update(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", line))
    return names


def test_every_documented_setting_is_declared():
    names = documented_settings()
    assert len(names) > 20  # the tables are found
    assert sorted(n for n in names if n not in catalog()) == []


def test_every_setting_safe_for_rules_validates_with_its_default():
    from scrapy.settings import default_settings

    import crawler.settings

    defaults = {
        **{n: getattr(default_settings, n) for n in dir(default_settings) if n.isupper()},
        **{n: getattr(crawler.settings, n) for n in dir(crawler.settings) if n.isupper()},
    }
    samples = {"RESPONSE_ENCODING": "gbk", "USER_AGENT_FIXED": "Mozilla/5.0", "USER_AGENT": "x"}
    samples["CAPTCHA_IMAGE_XPATH"] = "//form//img/@src"  # the default's quotes defeat this YAML
    for name in ("CAPTCHA_SLIDER_BACKGROUND_XPATH", "CAPTCHA_SLIDER_PIECE_XPATH"):
        samples[name] = "//form//img/@src"
    samples["CAPTCHA_CLICK_PROMPT_XPATH"] = "//form//p"
    for name in catalog().rule_safe_names():
        value = samples.get(name, defaults.get(name))
        if value is None:
            continue  # no value to try: the type check is covered below
        text = rule_with(f"  {name}: {value!r}\n".replace("'", '"'))
        try:
            parse_rule(text, filename="r.yaml")
        except RuleError as exc:
            pytest.fail(f"{name}: {exc}")


def test_response_encoding_from_the_readme_is_accepted():
    rule = parse_rule(rule_with("  RESPONSE_ENCODING: gbk\n"), filename="r.yaml")
    assert rule.crawl_settings["RESPONSE_ENCODING"] == "gbk"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  LOG_LEVEL: LOUD", "r.yaml:4:3: settings.LOG_LEVEL: LOG_LEVEL must be one of"),
        (
            "  CONCURRENT_REQUESTS: many",
            "r.yaml:4:3: settings.CONCURRENT_REQUESTS: CONCURRENT_REQUESTS expected an integer",
        ),
        (
            "  DOWNLOAD_DELAY: soon",
            "r.yaml:4:3: settings.DOWNLOAD_DELAY: DOWNLOAD_DELAY expected a number",
        ),
        (
            "  ROBOTSTXT_OBEY: maybe",
            "r.yaml:4:3: settings.ROBOTSTXT_OBEY: ROBOTSTXT_OBEY expected true or false",
        ),
        (
            "  DOWNLOAD_TIMEOUT: -5",
            "r.yaml:4:3: settings.DOWNLOAD_TIMEOUT: DOWNLOAD_TIMEOUT must be at least 0",
        ),
        (
            "  CONCURENT_REQUESTS: 4",
            "unknown setting 'CONCURENT_REQUESTS' (did you mean 'CONCURRENT_REQUESTS'?)",
        ),
        ("  FEEDS: {out.py: {format: jsonlines}}", "FEEDS cannot be set by a rule"),
        ("  EXTENSIONS: {evil.Mod: 1}", "EXTENSIONS cannot be set by a rule"),
        ("  JOBDIR: /tmp/x", "JOBDIR cannot be set by a rule"),
        ("  STORE_URI: sqlite:///x.db", "STORE_URI cannot be set by a rule"),
    ],
)
def test_mistyped_or_unsafe_settings_are_errors_at_their_line(line, expected):
    found = problems(rule_with(line + "\n"))
    assert any(expected in p for p in found), found


def test_all_problems_of_the_settings_at_once():
    found = problems(rule_with("  LOG_LEVEL: LOUD\n  CONCURRENT_REQUESTS: many\n  FEEDS: {}\n"))
    assert [p.split(":")[1] for p in found] == ["4", "5", "6"]


def test_validate_command_reports_a_bad_value_with_file_line_column(tmp_path: Path):
    (tmp_path / "loud.yaml").write_text(rule_with("  DOWNLOAD_DELAY: 1\n  LOG_LEVEL: LOUD\n"))
    proc = scrapy("validate", "-s", f"RULES_DIR={tmp_path}")
    assert proc.returncode == 1
    assert f"{tmp_path}/loud.yaml:5:3: settings.LOG_LEVEL: LOG_LEVEL must be one of" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_crawl_refuses_a_rule_that_sets_an_unsafe_setting(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yaml").write_text(
        rule_with(f"  FEEDS: {{'{tmp_path}/x.py': {{format: json}}}}\n")
    )
    proc = scrapy("crawl", "evil", "-s", f"RULES_DIR={rules}", "-s", "STORE_URI=")
    assert proc.returncode != 0
    assert "FEEDS cannot be set by a rule" in proc.stderr
    assert not (tmp_path / "x.py").exists()
    assert "Traceback" not in proc.stderr
