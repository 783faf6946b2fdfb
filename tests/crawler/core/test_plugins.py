"""Project extractors and cleaners from a module named in PLUGIN_MODULES, used from YAML."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

import tests.crawler.example_plugins  # noqa: F401  (registers what PLUGIN_MODULES would)
from crawler.rules import RuleError
from crawler.spider.extract import CompiledRule
from crawler.spider.project import parse_rule
from tests.crawler.crawl import scrapy

PAGE = b"""<html><head><meta property="og:title" content="Og Title">
<script type="application/ld+json">{"name": "LD Name", "sku": "x1"}</script></head><body></body></html>"""


def rule(fields: str):
    return parse_rule(
        f"start: [{{url: 'http://x.test/', page: p}}]\npages:\n  p:\n    fields:\n{fields}",
        filename="p.yaml",
    )


def test_extractors_and_cleaners_from_a_plugin_module():
    compiled = CompiledRule(
        rule(
            "      title: {extractor: meta, args: {name: 'og:title'}, clean: [exclaim]}\n"
            "      sku: {extractor: json_ld, args: {key: sku}}\n"
            "      none: {extractor: json_ld, args: {key: nope}, default: '-'}\n"
        )
    )
    [item] = compiled.extract(
        "p", HtmlResponse("http://x.test/", body=PAGE, encoding="utf-8")
    ).items
    assert (item["title"], item["sku"], item["none"]) == ("OG TITLE!", "x1", "-")


def test_unknown_extractor_and_bad_arguments_are_validation_errors():
    with pytest.raises(RuleError) as info:
        rule(
            "      a: {extractor: metta, args: {name: x}}\n      b: {extractor: meta, args: {nme: x}}\n"
            "      c: {css: a, extractor: meta}\n"
        )
    messages = [str(p) for p in info.value.problems]
    assert messages[0].startswith(
        "p.yaml:5:11: pages.p.fields.a.extractor: unknown extractor 'metta' (did you mean 'meta'?)"
    )
    assert (
        messages[1]
        == "p.yaml:6:11: pages.p.fields.b.extractor: extractor 'meta': unexpected argument 'nme' (did you mean 'name'?)"
    )
    assert (
        messages[2]
        == "p.yaml:6:11: pages.p.fields.b.extractor: extractor 'meta': missing argument 'name'"
    )
    assert (
        messages[3]
        == "p.yaml:7:7: pages.p.fields.c: a field takes one of a selector, value or extractor, not extractor and a selector"
    )


def test_validate_loads_plugin_modules_from_settings(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "start: [{url: 'http://x.test/', page: p}]\npages:\n  p:\n    fields: {a: {extractor: meta, args: {name: x}}}\n"
    )
    assert scrapy("validate", "-s", f"RULES_DIR={tmp_path}").returncode == 1
    ok = scrapy(
        "validate",
        "-s",
        f"RULES_DIR={tmp_path}",
        "-s",
        "PLUGIN_MODULES=tests.crawler.example_plugins",
    )
    assert ok.returncode == 0, ok.stdout
