"""The typed rule: what a YAML rule file says, parsed once, read-only.

Everything downstream of the compiler (:func:`crawler.rules.compile_rule`) receives these
objects, never the raw YAML dicts. Each top-level section of a rule file builds its own typed
value (:mod:`crawler.rules.sections`); :class:`Rule` keeps them by section name and gives typed
access to the core ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.rules.problems import Problem

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


# The file types a `files:` field may ask for, as sniffed from their content (crawler/files);
# a field that names none takes FILE_TYPES_DEFAULT (every type but plain zip archives).
FILE_TYPES = (
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "ppt",
    "pptx",
    "png",
    "jpeg",
    "gif",
    "webp",
    "zip",
)
FILE_TYPES_DEFAULT = tuple(t for t in FILE_TYPES if t != "zip")


@dataclass(frozen=True)
class FileSpec:
    """A field whose values are links to files: downloaded through the crawl, stored once by
    content hash, the field becoming a list of file records (crawler/files; docs/files.md)."""

    types: tuple[str, ...] = FILE_TYPES_DEFAULT
    max_bytes: int | None = None  # None: the project's FILES_MAX_BYTES
    text: bool = False  # read the text of PDF, DOCX and XLSX files (bounded)
    max_files: int | None = None  # per item; None: the project's FILES_PER_ITEM

    def policy(self) -> dict:
        """What the item carries to the files pipeline (``_files``: field name -> this)."""
        return {
            "types": list(self.types),
            "max_bytes": self.max_bytes,
            "text": self.text,
            "max_files": self.max_files,
        }


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
    clean: Any = None  # the cleaner chain as written; compiled by crawler.spider.extract
    generic: bool = False  # no source of its own: the page type's generic value (extract:)
    files: FileSpec | None = None  # its values are links to files (crawler/files)


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
    extras: MappingProxyType = field(default_factory=lambda: EMPTY)  # keys other sections add
    extract: str | None = None  # generic extraction: article, product (rules/generic.py), list
    list_to: str | None = None  # extract: list: the page type its links lead to

    @property
    def emits_items(self) -> bool:
        if self.rows is not None:
            return self.rows.emit and bool(self.rows.fields or self.fields)
        return self.emit and bool(self.fields or self.extract in ("article", "product"))


@dataclass(frozen=True)
class StartSpec:
    """A start: page URLs (``urls``), or a sitemap or feed (``listing``) listing them."""

    urls: tuple[str, ...]  # empty for a sitemap or feed start
    page: str
    method: str = "GET"
    headers: MappingProxyType = field(default_factory=lambda: EMPTY)
    form: MappingProxyType | None = None
    json: Any = MISSING
    body: str | None = None
    carry: MappingProxyType = field(default_factory=lambda: EMPTY)
    priority: int | None = None
    extras: MappingProxyType = field(default_factory=lambda: EMPTY)  # keys other sections add
    listing: str | None = None  # "sitemap" (a sitemap, an index or robots.txt) or "feed"
    listing_url: str | None = None  # its URL template
    allow: tuple[str, ...] = ()  # URL regexes: the listed pages kept (all when empty)
    deny: tuple[str, ...] = ()  # URL regexes: the listed pages left out
    max_urls: int | None = None  # at most this many listed pages (and RULE_SITEMAP_MAX_URLS)
    max_depth: int | None = None  # sitemap indexes followed this deep (and RULE_SITEMAP_MAX_DEPTH)

    @property
    def first_urls(self) -> tuple[str, ...]:
        """The URL templates the start fetches first: its pages, or its sitemap or feed."""
        return self.urls if self.listing_url is None else (*self.urls, self.listing_url)


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
    name: str = ""  # one schedule of several: its name (or place); "" when it is the only one


@dataclass(frozen=True)
class RuleMeta:
    """The rule's identity and inputs: the ``meta`` section (name, description, args...)."""

    description: str = ""
    needs_internet: bool = False
    args: MappingProxyType = field(
        default_factory=lambda: EMPTY
    )  # name -> default (None: required)
    allowed_domains: tuple[str, ...] = ()
    encoding: str | None = None
    secret_args: frozenset[str] = frozenset()  # their values never reach logs, items, fixtures
    tags: tuple[str, ...] = ()  # groups: `scrapy crawl --tag gov`, the overview's filters
    extends: str | None = None  # the template it was made from (crawler/rules/inherit.py)


@dataclass(frozen=True)
class Rule:
    """A compiled rule: its name and file, every section's typed value, and what it means for
    Scrapy (``crawl_settings``: the settings its sections map to, ``settings:`` last)."""

    name: str
    path: Path | None
    sections: MappingProxyType  # section name -> that section's typed value
    crawl_settings: MappingProxyType = field(default_factory=lambda: EMPTY)
    warnings: tuple[Problem, ...] = ()  # reported by `scrapy validate`, never fatal
    inherits: tuple[Path, ...] = ()  # the templates merged in, farthest first
    row: int = 0  # a site-table row: its line in the table (``path``); 0 for a rule file
    version: str = ""  # a digest of what it says, templates merged (compiler.rule_version)

    def section(self, name: str) -> Any:
        return self.sections.get(name)

    # -- the core sections, typed -------------------------------------------------------------

    @property
    def meta(self) -> RuleMeta:
        return self.sections["meta"]

    @property
    def description(self) -> str:
        return self.meta.description

    @property
    def needs_internet(self) -> bool:
        return self.meta.needs_internet

    @property
    def args(self) -> MappingProxyType:
        return self.meta.args

    @property
    def secret_args(self) -> frozenset[str]:
        return self.meta.secret_args

    @property
    def allowed_domains(self) -> tuple[str, ...]:
        return self.meta.allowed_domains

    @property
    def tags(self) -> tuple[str, ...]:
        return self.meta.tags

    @property
    def encoding(self) -> str | None:
        return self.meta.encoding

    @property
    def start(self) -> tuple[StartSpec, ...]:
        return self.sections["start"]

    @property
    def pages(self) -> MappingProxyType:  # name -> PageType
        return self.sections["pages"]

    @property
    def item(self) -> ItemTarget:
        return self.sections["item"]

    @property
    def settings(self) -> MappingProxyType:
        return self.sections["settings"]

    @property
    def antiban(self) -> MappingProxyType:
        return self.sections.get("antiban", EMPTY)

    @property
    def schedule(self) -> Schedule | None:
        """The rule's schedule, the first of several."""
        schedules = self.schedules
        return schedules[0] if schedules else None

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        """Every schedule of the rule, each with its own arguments."""
        return tuple(self.sections.get("schedule") or ())

    @property
    def incremental(self) -> bool:
        """Some page types are fetched once across runs (seen-URL state is kept)."""
        return any(page.fetch == "once" for page in self.pages.values())

    def target(self, page: str) -> ItemTarget:
        """The item target of a page type: the rule's, overridden by the page's."""
        return self.item.merged(self.pages[page].item)
