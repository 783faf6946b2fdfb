"""The typed rule: what a YAML rule file says, parsed once, read-only.

Everything downstream of :func:`crawler.rules.load.load_rule` receives these objects, never the
raw YAML dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

EMPTY: MappingProxyType = MappingProxyType({})


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Selector:
    """One of xpath/css/json/regex finds values; ``regex`` alongside another filters them."""

    xpath: str | None = None
    css: str | None = None
    json: str | None = None
    regex: str | None = None

    @property
    def kind(self) -> str | None:
        for kind in ("xpath", "css", "json"):
            if getattr(self, kind) is not None:
                return kind
        return "regex" if self.regex is not None else None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    selector: Selector
    value: Any = MISSING  # a constant instead of a selector
    extractor: str | None = None  # a registered Python extractor instead of a selector
    args: MappingProxyType = field(default_factory=lambda: EMPTY)
    all: bool = False
    text: bool = False
    default: Any = None
    required: bool = False
    clean: Any = None  # the cleaner chain as written; compiled by crawler.extract


@dataclass(frozen=True)
class LinkSpec:
    selector: Selector
    to: str
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    max_depth: int | None = None
    priority: int | None = None
    carry: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class RowsSpec:
    selector: Selector
    fields: tuple[FieldSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    emit: bool = True


@dataclass(frozen=True)
class Pagination:
    style: str  # next | pages | offset | cursor
    next: Selector | None = None
    template: str | None = None
    count: int | Selector | None = None
    start: int = 0
    param: str | None = None
    step: int = 1
    cursor: Selector | None = None
    until_empty: Selector | None = None
    max_pages: int | None = None


@dataclass(frozen=True)
class ItemTarget:
    collection: str | None = None
    key: tuple[str, ...] | None = None
    type: str | None = None
    map: MappingProxyType = field(default_factory=lambda: EMPTY)

    def merged(self, override: ItemTarget | None) -> ItemTarget:
        if override is None:
            return self
        return ItemTarget(
            collection=override.collection or self.collection,
            key=override.key or self.key,
            type=override.type or self.type,
            map=override.map or self.map,
        )


@dataclass(frozen=True)
class PageType:
    name: str
    fields: tuple[FieldSpec, ...] = ()
    rows: RowsSpec | None = None
    links: tuple[LinkSpec, ...] = ()
    pagination: Pagination | None = None
    item: ItemTarget | None = None
    emit: bool = True
    priority: int = 0
    match: str | None = None
    fetch: str = "every"  # incremental crawls: "every" run, or "once" across runs
    refresh_after: float | None = None  # seconds; a "once" page older than this is fetched again

    @property
    def emits_items(self) -> bool:
        if self.rows is not None:
            return self.rows.emit and bool(self.rows.fields or self.fields)
        return self.emit and bool(self.fields)


@dataclass(frozen=True)
class StartSpec:
    urls: tuple[str, ...]
    page: str
    method: str = "GET"
    headers: MappingProxyType = field(default_factory=lambda: EMPTY)
    form: MappingProxyType | None = None
    json: Any = MISSING
    body: str | None = None
    carry: MappingProxyType = field(default_factory=lambda: EMPTY)
    priority: int | None = None


@dataclass(frozen=True)
class Schedule:
    """When ``scrapy schedule`` runs the rule, and what it does about failures and missed runs."""

    cron: str
    timezone: str = "UTC"
    catch_up: bool = False
    retries: int = 0
    retry_delay: float = 60.0  # seconds
    timeout: float | None = None  # seconds
    args: MappingProxyType = field(default_factory=lambda: EMPTY)
    enabled: bool = True


@dataclass(frozen=True)
class Rule:
    name: str
    path: Path | None
    start: tuple[StartSpec, ...]
    pages: MappingProxyType  # name -> PageType
    description: str = ""
    needs_internet: bool = False
    args: MappingProxyType = field(
        default_factory=lambda: EMPTY
    )  # name -> default (None: required)
    allowed_domains: tuple[str, ...] = ()
    encoding: str | None = None
    item: ItemTarget = field(default_factory=ItemTarget)
    settings: MappingProxyType = field(default_factory=lambda: EMPTY)
    antiban: MappingProxyType = field(default_factory=lambda: EMPTY)
    warnings: tuple[str, ...] = ()  # file:line:column: field: warning: ... (reported, not problems)
    schedule: Schedule | None = None

    @property
    def incremental(self) -> bool:
        """Some page types are fetched once across runs (seen-URL state is kept)."""
        return any(page.fetch == "once" for page in self.pages.values())

    def target(self, page: str) -> ItemTarget:
        """The item target of a page type: the rule's, overridden by the page's."""
        return self.item.merged(self.pages[page].item)
