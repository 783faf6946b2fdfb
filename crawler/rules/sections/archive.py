"""``archive:``: keep the pages a crawl parsed, so that a fixed rule can be run again on them
offline (``scrapy rules backfill``) instead of fetching them again (crawler/archive).

    archive: true                   # the project's defaults (ARCHIVE_MAX_BYTES, ARCHIVE_MAX_AGE)
    archive:
      max_size: 500MB               # B, KB, MB, GB, TB (powers of 1000) or KiB... TiB (1024)
      max_age: 90d                  # older pages are dropped
      pages: [book]                 # only these page types (default: every one)

Maps to ``ARCHIVE_ENABLED`` and, when given, ``ARCHIVE_MAX_BYTES``, ``ARCHIVE_MAX_AGE`` and
``ARCHIVE_PAGES``. Where the archive lives is the project's (``ARCHIVE_DIR``), never the
rule's; the project's ``ARCHIVE_LIMIT_BYTES`` caps any ``max_size``.

>>> parse_size("500MB"), parse_size("1.5 GiB"), parse_size(2048)
(500000000, 1610612736, 2048)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.sections import Section
from crawler.rules.sizes import SIZE_PATTERN, parse_size

MIN_SIZE = 1000 * 1000  # 1 MB: less holds a handful of pages
MAX_SIZE = 1000**4  # 1 TB: the schema's bound; the project's ARCHIVE_LIMIT_BYTES is lower
MIN_AGE = 3600.0  # an hour
MAX_AGE = 3650 * 86400.0  # ten years
MAX_PAGES = 100


ARCHIVE = {
    "description": "Keep the pages of this rule's crawls (compressed, in the project's data "
    "directory), so `scrapy rules backfill` can run a fixed rule on them again without "
    "fetching them: `true` for the project's defaults, or a mapping of bounds "
    "(docs/archive.md).",
    "type": ["boolean", "object"],
    "properties": {
        "max_size": {
            "description": "The most the archive holds, compressed: a number of bytes, or a "
            "size such as 500MB or 2GiB (at least 1MB); the oldest pages are dropped first.",
            "type": ["string", "integer"],
            "pattern": SIZE_PATTERN,
            "minimum": MIN_SIZE,
            "maximum": MAX_SIZE,
        },
        "max_age": {
            "$ref": "#/$defs/duration",
            "description": "Pages fetched longer ago than this are dropped (at least 1h).",
        },
        "pages": {
            "description": "The page types whose pages are kept (default: every page type).",
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "maxItems": MAX_PAGES,
            "uniqueItems": True,
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ArchiveSpec:
    """A rule's ``archive:`` (None: the project's default)."""

    max_bytes: int | None = None
    max_age: float | None = None  # seconds
    pages: tuple[str, ...] = ()  # empty: every page type


def build(ctx: BuildContext) -> ArchiveSpec | None:
    spec = ctx.data.get("archive")
    path = ("archive",)
    if spec is None or spec is False or ctx.broken(path) and not isinstance(spec, dict):
        return None
    if spec is True:
        return ArchiveSpec()
    if not isinstance(spec, dict):
        return None
    max_bytes = None
    size = ctx.part(spec, "max_size", path)
    if size is not None:
        max_bytes = parse_size(size)
        if not MIN_SIZE <= max_bytes <= MAX_SIZE:
            ctx.error(path + ("max_size",), "must be between 1MB and 1TB")
    max_age = ctx.duration(spec, "max_age", path)
    if max_age is not None and not MIN_AGE <= max_age <= MAX_AGE:
        ctx.error(path + ("max_age",), "must be between 1h and 3650d")
    pages = tuple(ctx.part(spec, "pages", path, ()))
    for i, name in enumerate(pages):
        ctx.check_page_ref(name, path + ("pages", i))
    return ArchiveSpec(max_bytes, max_age, pages)


def to_settings(spec: ArchiveSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    out: dict[str, Any] = {"ARCHIVE_ENABLED": True}
    if spec.max_bytes is not None:
        out["ARCHIVE_MAX_BYTES"] = spec.max_bytes
    if spec.max_age is not None:
        out["ARCHIVE_MAX_AGE"] = spec.max_age
    if spec.pages:
        out["ARCHIVE_PAGES"] = list(spec.pages)
    return out


SECTION = Section(
    name="archive",
    order=75,
    properties={"archive": {"$ref": "#/$defs/archive"}},
    defs={"archive": ARCHIVE},
    build=build,
    settings=to_settings,
)
