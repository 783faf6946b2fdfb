"""Rule fixtures: a fetched page and what a rule extracted from it, stored beside the rules.

``scrapy preview --save`` writes them; ``scrapy rules test`` re-runs each rule on its stored
pages, offline, and reports every value that changed. Layout::

    rules/fixtures/<rule>/<name>.json   # url, page type, status, headers, args, crawl time, expected output
    rules/fixtures/<rule>/<name>.body   # the response body, byte for byte

A rendered page's body is its rendered HTML, and the JSON its page captured (XHR/fetch) is kept
in the record (``render_json``), so a rendered page is tested offline like any other.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.http import Request, TextResponse
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes

from crawler.rules.model import Rule
from crawler.spider.extract import CompiledRule, PageResult, plain_items
from crawler.spider.extract.inputs import META_RENDER_JSON
from vocab.redaction import Redactor

KEPT_HEADERS = ("Content-Type", "Content-Encoding-Declared", "Location")


def fixtures_dir(rules_dir: str | Path, rule: str) -> Path:
    return Path(rules_dir) / "fixtures" / rule


def fixture_name(url: str, page: str) -> str:
    slug = (
        re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1].split("/", 1)[-1]).strip("-")[:40]
        or "root"
    )
    return f"{page}-{slug}-{hashlib.sha1(url.encode()).hexdigest()[:8]}"


def result_to_json(result: PageResult) -> dict[str, Any]:
    return {
        "items": plain_items(result.items),
        "links": [
            {"url": f.url, "page": f.page} | ({"carry": f.carry} if f.carry else {})
            for f in result.follows
        ],
        "problems": [{"reason": r, "message": m} for r, m in result.problems],
    }


def _portable(value: Any, base_url: str) -> Any:
    """Fixtures must not depend on the port the sample site happened to get."""
    text = json.dumps(value, ensure_ascii=False)
    return json.loads(text.replace(base_url, "{base}"))


def _origin(url: str) -> str:
    match = re.match(r"^[a-z]+://[^/]+", url)
    return match.group(0) if match else url


def save_fixture(
    rules_dir,
    rule: Rule,
    *,
    page: str,
    response,
    result: PageResult,
    args: dict,
    carry: dict,
    crawl_time: datetime,
    redactor: Redactor | None = None,
) -> Path:
    """Store the page and what the rule extracted; secret values (``redactor``) are replaced by
    ``***`` in the record (URL, arguments, output), never written under ``rules/``."""
    directory = fixtures_dir(rules_dir, rule.name)
    directory.mkdir(parents=True, exist_ok=True)
    name = fixture_name(response.url, page)
    base = _origin(response.url)
    headers = {
        k: response.headers.get(k).decode("latin-1")
        for k in KEPT_HEADERS
        if response.headers.get(k)
    }
    record = {
        "url": response.url.replace(base, "{base}"),
        "page": page,
        "status": response.status,
        "encoding": getattr(response, "encoding", None),
        "headers": headers,
        "args": _portable(args, base),
        "carry": _portable(carry, base),
        "crawl_time": crawl_time.isoformat(),
        "expected": _portable(result_to_json(result), base),
    }
    request = getattr(response, "request", None)
    if request is not None and META_RENDER_JSON in request.meta:
        record["render_json"] = _portable(request.meta[META_RENDER_JSON], base)
    if redactor:
        record = redactor.value(record)
    (directory / f"{name}.body").write_bytes(response.body)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@dataclass
class FixtureRun:
    path: Path
    differences: list[str]
    error: str | None = None


FIXTURE_BASE = "http://fixture.invalid"


def run_fixture(path: Path, rule: Rule, *, update: bool = False) -> FixtureRun:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        body = path.with_suffix(".body").read_bytes()
    except (OSError, ValueError) as exc:
        return FixtureRun(path, [], f"unreadable fixture: {exc}")
    url = record["url"].replace("{base}", FIXTURE_BASE)
    page = record["page"]
    if page not in rule.pages:
        return FixtureRun(path, [], f"the rule has no page type {page!r} any more")
    headers = Headers(record.get("headers", {}))
    cls = responsetypes.from_args(headers=headers, url=url, body=body)
    # the encoding the crawl settled on (header, detection or the rule's), so fixtures decode alike
    kwargs = (
        {"encoding": record["encoding"]}
        if record.get("encoding") and issubclass(cls, TextResponse)
        else {}
    )
    response = cls(
        url=url,
        status=record.get("status", 200),
        headers=headers,
        body=body,
        request=Request(url, meta=_render_meta(record)),
        **kwargs,
    )
    args = _restore(record.get("args", {}))
    compiled = CompiledRule(rule, {**rule.args, **args})
    result = compiled.extract(
        page,
        response,
        carry=_restore(record.get("carry", {})),
        now=datetime.fromisoformat(record["crawl_time"]),
    )
    actual = json.loads(
        json.dumps(result_to_json(result), ensure_ascii=False).replace(FIXTURE_BASE, "{base}")
    )
    expected = record["expected"]
    differences = compare(expected, actual)
    if update and differences:
        record["expected"] = actual
        path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return FixtureRun(path, differences)


def _render_meta(record: dict) -> dict:
    return {META_RENDER_JSON: _restore(record["render_json"])} if "render_json" in record else {}


def _restore(value: Any) -> Any:
    return json.loads(json.dumps(value).replace("{base}", FIXTURE_BASE))


def compare(expected: dict, actual: dict) -> list[str]:
    """Readable differences: each changed field, each item or link that appeared or vanished."""
    out: list[str] = []
    exp_items, act_items = expected.get("items", []), actual.get("items", [])
    for i in range(max(len(exp_items), len(act_items))):
        if i >= len(act_items):
            out.append(f"items[{i}]: missing now (was {_short(exp_items[i])})")
            continue
        if i >= len(exp_items):
            out.append(f"items[{i}]: new item {_short(act_items[i])}")
            continue
        old, new = exp_items[i], act_items[i]
        for key in sorted(set(old) | set(new)):
            if old.get(key, "<absent>") != new.get(key, "<absent>"):
                out.append(
                    f"items[{i}].{key}: {_short(old.get(key, '<absent>'))} -> {_short(new.get(key, '<absent>'))}"
                )
    old_links = {(link["url"], link["page"]) for link in expected.get("links", [])}
    new_links = {(link["url"], link["page"]) for link in actual.get("links", [])}
    for url, page in sorted(old_links - new_links)[:10]:
        out.append(f"links: {url} ({page}) no longer found")
    for url, page in sorted(new_links - old_links)[:10]:
        out.append(f"links: {url} ({page}) is new")
    extra = (
        len(old_links ^ new_links)
        - min(len(old_links - new_links), 10)
        - min(len(new_links - old_links), 10)
    )
    if extra > 0:
        out.append(f"links: {extra} more differences")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
