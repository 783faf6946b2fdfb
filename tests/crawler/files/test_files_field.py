"""The ``files:`` field kind: its forms and checks, and what extraction hands the files
pipeline (absolute http(s) URLs, each once, and the field's ask in ``_files``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse

from crawler.rules import RuleError
from crawler.rules.model import FILE_TYPES_DEFAULT, FileSpec
from crawler.spider.extract import CompiledRule
from crawler.spider.project import parse_rule

RULE = """name: t
start: [{{url: "http://gov.test/notices/", page: p}}]
pages:
  p:
    fields:
      title: {{css: "h1::text"}}
      attachments: {{css: a.attachment{files}}}
"""
PAGE = """<html><body><h1>Tender</h1>
<a class="attachment" href="files/a.pdf">A</a>
<a class="attachment" href="/files/b.docx#page=2">B</a>
<a class="attachment" href="files/a.pdf">A again</a>
<a class="attachment" href="ftp://gov.test/c.xls">C</a>
<a class="attachment" href="javascript:void(0)">nothing</a>
<a class="attachment" href="#top">top</a>
</body></html>"""


def field(files: str) -> FileSpec | None:
    rule = parse_rule(RULE.format(files=files), filename="t.yaml")
    return rule.pages["p"].fields[1].files


def problems(files: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        field(files)
    return [str(p) for p in info.value.problems]


def test_forms_of_a_files_field():
    assert field("") is None
    assert field(", files: false") is None
    assert field(", files: true") == FileSpec(types=FILE_TYPES_DEFAULT)
    spec = field(", files: {types: [pdf, xlsx], max_size: 20MB, text: true, max_files: 3}")
    assert spec == FileSpec(types=("pdf", "xlsx"), max_bytes=20_000_000, text=True, max_files=3)
    assert spec.policy() == {
        "types": ["pdf", "xlsx"],
        "max_bytes": 20_000_000,
        "text": True,
        "max_files": 3,
    }


def test_a_rule_cannot_name_a_place_a_class_or_a_type_it_does_not_know():
    assert any("exe" in p for p in problems(", files: {types: [pdf, exe]}"))
    assert any("store" in p for p in problems(", files: {store: /tmp/x}"))
    assert any("max_size" in p for p in problems(", files: {max_size: lots}"))
    assert any("not a constant value" in p for p in problems(", value: x, files: true"))


def test_extraction_resolves_the_links_once_and_carries_the_ask():
    rule = parse_rule(RULE.format(files=", files: {types: [pdf], text: true}"), filename="t.yaml")
    response = HtmlResponse("http://gov.test/notices/1.html", body=PAGE.encode(), encoding="utf-8")
    now = datetime(2024, 3, 1, tzinfo=UTC)
    (item,) = CompiledRule(rule).extract("p", response, now=now).items
    assert item["attachments"] == [
        "http://gov.test/notices/files/a.pdf",
        "http://gov.test/files/b.docx",
        "ftp://gov.test/c.xls",  # refused and counted by the files pipeline, not dropped here
    ]
    assert item["_files"] == {
        "attachments": {"types": ["pdf"], "max_bytes": None, "text": True, "max_files": None}
    }


def test_generic_attachments_become_a_files_field():
    text = """name: t
start: [{url: "http://gov.test/", page: p}]
pages:
  p:
    extract: article
    fields:
      attachments: {files: {types: [pdf]}}
"""
    body = (
        "<html><body><article><h1>Notice about the tender</h1><p>"
        + "Long text of the notice. " * 40
        + '</p><p>See <a href="/f/tender.pdf">the tender</a> and <a href="/f/x.docx">x</a>.</p>'
        + "</article></body></html>"
    )
    response = HtmlResponse("http://gov.test/n/1.html", body=body.encode(), encoding="utf-8")
    (item,) = CompiledRule(parse_rule(text, filename="t.yaml")).extract("p", response).items
    assert item["attachments"] == ["http://gov.test/f/tender.pdf", "http://gov.test/f/x.docx"]
    assert item["_files"]["attachments"]["types"] == ["pdf"]
