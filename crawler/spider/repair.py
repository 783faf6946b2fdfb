"""Repairing a rule whose site changed its markup (``scrapy rules repair RULE``).

A rule's fixtures (``scrapy preview --save``, ``scrapy rules new``) hold, for each kept page,
the values its fields had. When the site changes its template, those pages are fetched again
(the caller does it) and, for each field that no longer gives its value on every page:

1. the elements of the fresh first page whose text holds the value (its text, its digits, its
   year) are tried, smallest first;
2. for each one, selectors are proposed from the most robust to the least: an id, an
   ``itemprop``, a class, a label it follows (``//th[.='UPC']/following-sibling::td``), its
   parent's class, then its position;
3. a proposal is kept only when the field, with the proposal in place of its selector and its
   own regex and cleaners unchanged, gives the expected value on **every** fetched page.

The best proposal replaces the field's selector in the rule's text (:func:`apply`); the command
shows it as a diff and writes it only when asked.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cleaners.registry import CleanContext
from crawler.rules.model import FieldSpec, Rule, Selector
from crawler.spider.extract import CompiledRule
from crawler.spider.extract.fields import CompiledField
from crawler.spider.extract.inputs import PageInput, Scope

MAX_ELEMENTS = 3000  # elements of a page tried
STABLE = re.compile(r"^[A-Za-z_-][A-Za-z_-]*[0-9]{0,2}$")  # no generated ids or classes


@dataclass
class Sample:
    response: Any  # the page fetched again
    expected: dict[str, Any]  # the item its fixture keeps
    page: str  # its page type
    carry: dict[str, Any]
    _scope: Scope | None = None

    @property
    def scope(self) -> Scope:
        """The page, parsed once for every proposal tried on it."""
        if self._scope is None:
            self._scope = Scope(PageInput(self.response))
        return self._scope


@dataclass
class Repair:
    page: str
    field: str
    was: str  # the selector that broke, as written
    proposals: list[tuple[str, str]]  # (kind, expression), best first
    seen: str  # what the broken field gives now, on the first page


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def broken_fields(rule: Rule, samples: list[Sample]) -> dict[tuple[str, str], Any]:
    """``(page type, field) -> what it gives now on the first page where it is wrong``."""
    broken: dict[tuple[str, str], Any] = {}
    compiled = CompiledRule(rule)
    for sample in samples:
        result = compiled.extract(
            sample.page, sample.response, carry=sample.carry, now=datetime.now(UTC)
        )
        actual = _plain(result.items[0]) if result.items else {}
        for name, value in sample.expected.items():
            if name.startswith("_") or (sample.page, name) in broken:
                continue
            if actual.get(name) != value:
                broken[(sample.page, name)] = actual.get(name)
    return broken


def repairs(rule: Rule, samples: list[Sample]) -> list[Repair]:
    found = []
    for (page, name), now in broken_fields(rule, samples).items():
        spec = next((f for f in rule.pages[page].fields if f.name == name), None)
        if spec is None:
            continue  # a carried value or a row's field: not this page's selector
        mine = [s for s in samples if s.page == page and name in s.expected]
        found.append(Repair(page, name, _written(spec), propose(spec, mine), repr(now)))
    return found


def _written(spec: FieldSpec) -> str:
    selector = spec.selector
    return selector.css or selector.xpath or selector.json or selector.regex or "-"


def propose(spec: FieldSpec, samples: list[Sample], limit: int = 3) -> list[tuple[str, str]]:
    """Selectors giving the field's expected value on every sample, most robust first."""
    if not samples or spec.selector.kind not in ("css", "xpath"):
        return []  # a regex over the page, a value, an extractor: no element to find again
    first = samples[0]
    root = first.scope.node
    probe = _probe(first.expected[spec.name])
    elements = []
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "head"):
            continue
        text = " ".join("".join(element.itertext()).split())
        if probe and probe not in text and not any(probe in str(v) for v in element.values()):
            continue
        elements.append((len(text), element))
        if len(elements) >= MAX_ELEMENTS:
            break
    kept: list[tuple[str, str]] = []
    for _, element in sorted(elements, key=lambda pair: pair[0]):
        for candidate in candidates(element):
            effective = _effective(with_selector(spec, candidate))
            if effective in kept:
                continue
            if all(_gives(spec, candidate, sample) for sample in samples):
                kept.append(effective)
                if len(kept) >= limit:
                    return kept
    return kept


def _effective(spec: FieldSpec) -> tuple[str, str]:
    """The selector as the rule writes it (``css``/``xpath`` and its expression)."""
    selector = spec.selector
    return ("css", selector.css) if selector.css else ("xpath", selector.xpath or "")


def _probe(value: Any) -> str:
    """A piece of text the element holding ``value`` must contain (before cleaning)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = " ".join(str(value).split())
    date = re.match(r"^(\d{4})-\d\d-\d\d", text)
    if date:
        return date.group(1)
    return text[:24]


def _gives(spec: FieldSpec, candidate: tuple[str, str], sample: Sample) -> bool:
    trial = with_selector(spec, candidate)
    try:
        outcome = CompiledField(trial)(sample.scope, CleanContext(url=sample.response.url))
    except Exception:  # an expression lxml refuses: not a proposal
        return False
    return _plain(outcome.value) == sample.expected[spec.name]


def with_selector(spec: FieldSpec, candidate: tuple[str, str]) -> FieldSpec:
    """``spec`` reading the element ``candidate`` selects the way it read its own (its text,
    an attribute, its whole text), its regex and cleaners unchanged."""
    kind, expression = candidate
    old = spec.selector
    written = old.css or old.xpath or ""
    if kind == "css":
        suffix = re.search(r"::(text|attr\([^)]*\))$", written) if old.css else None
        attribute = re.search(r"/@([\w-]+)$", written) if old.xpath else None
        if old.xpath and written.endswith("/text()"):
            suffix_text = "::text"
        elif attribute is not None:
            suffix_text = f"::attr({attribute.group(1)})"
        else:
            suffix_text = suffix.group(0) if suffix else ""
        selector = Selector(css=expression + suffix_text, regex=old.regex)
    else:
        tail = "/text()" if written.endswith("/text()") or written.endswith("::text") else ""
        selector = Selector(xpath=expression + tail, regex=old.regex)
    return dataclasses.replace(spec, selector=selector)


def _stable(name: str | None) -> bool:
    return bool(name) and bool(STABLE.match(name)) and len(name) <= 40


def candidates(element: Any) -> Iterator[tuple[str, str]]:
    """Selectors for ``element``, the most robust first."""
    tag = element.tag
    if _stable(element.get("id")):
        yield "css", f"#{element.get('id')}"
    if _stable(element.get("itemprop")):
        yield "css", f"{tag}[itemprop='{element.get('itemprop')}']"
    classes = [c for c in (element.get("class") or "").split() if _stable(c)]
    for name in classes:
        yield "css", f"{tag}.{name}"
    label = _label(element)
    if label is not None:
        before, text = label
        yield (
            "xpath",
            f"//{before}[normalize-space(.)={_xpath_literal(text)}]/following-sibling::{tag}[1]",
        )
    parent = element.getparent()
    if parent is not None and isinstance(parent.tag, str) and parent.tag not in ("body", "html"):
        for context in _contexts(parent):
            yield "css", f"{context} > {tag}"
            for name in classes:
                yield "css", f"{context} {tag}.{name}"
    yield "css", _position(element)


def _contexts(element: Any) -> Iterator[str]:
    if _stable(element.get("id")):
        yield f"#{element.get('id')}"
    for name in (element.get("class") or "").split():
        if _stable(name):
            yield f"{element.tag}.{name}"


def _label(element: Any) -> tuple[str, str] | None:
    """A cell that follows its label (``<th>UPC</th><td>...``, ``<dt>``/``<dd>``)."""
    previous = element.getprevious()
    if previous is None or previous.tag not in ("th", "dt", "label", "span", "strong", "b"):
        return None
    text = " ".join("".join(previous.itertext()).split())
    return (previous.tag, text) if text and len(text) <= 40 else None


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat('" + "', \"'\", '".join(text.split("'")) + "')"


def _position(element: Any) -> str:
    steps = []
    node = element
    while node is not None and isinstance(node.tag, str) and node.tag not in ("html", "body"):
        if _stable(node.get("id")):
            steps.insert(0, f"#{node.get('id')}")
            break
        siblings = [s for s in node.itersiblings(preceding=True) if s.tag == node.tag]
        steps.insert(0, f"{node.tag}:nth-of-type({len(siblings) + 1})")
        node = node.getparent()
    return " > ".join(steps)


def apply(text: str, page: str, field: str, candidate: tuple[str, str]) -> str | None:
    """``text`` (the rule's YAML) with the selector of ``pages.PAGE.fields.FIELD`` replaced by
    ``candidate``, on the line it is written; None when it is not written on one line of the
    rule's own file (a template's, a block mapping)."""
    lines = text.splitlines(keepends=True)
    in_page = in_fields = False
    for number, line in enumerate(lines):
        stripped = line.strip()
        if re.match(rf"^  {re.escape(page)}:\s*(#.*)?$", line.rstrip("\n")):
            in_page, in_fields = True, False
        elif in_page and re.match(r"^  \S", line):
            in_page = False
        elif in_page and stripped.startswith("fields:"):
            in_fields = True
        elif in_page and in_fields and stripped.startswith(f"{field}:"):
            # a flow mapping on the field's line, or a block: its css/xpath line below
            indent = len(line) - len(line.lstrip())
            block = [number]
            for after in range(number + 1, len(lines)):
                if len(lines[after]) - len(lines[after].lstrip()) <= indent:
                    break
                block.append(after)
            for at in block:
                new = _replace_selector(lines[at], candidate)
                if new is not None:
                    lines[at] = new
                    return "".join(lines)
            return None
    return None


SELECTOR_VALUE = re.compile(r"\b(css|xpath)\s*:\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^,}\n#]+)")


def _replace_selector(line: str, candidate: tuple[str, str]) -> str | None:
    kind, expression = candidate
    quoted = json.dumps(expression, ensure_ascii=False)
    new, count = SELECTOR_VALUE.subn(lambda _: f"{kind}: {quoted}", line, count=1)
    if count != 1:
        return None
    return new.rstrip() + "\n" if new.endswith("\n") else new
