"""Generic extraction: what a page type with ``extract: article`` or ``extract: product`` gives
without a selector written (crawler/spider/extract/generic.py finds it in the page).

A field the rule writes with a selector (or a value, or an extractor) always wins over the
generic one of the same name. A field written with no source of its own (only ``clean:``,
``default:``, ``required:``) takes the generic value and goes through its cleaners, default and
required check like any field.
"""

from __future__ import annotations

from types import MappingProxyType

GENERIC_FIELDS = MappingProxyType(
    {
        # title, dates (ISO 8601: date or date and time), author, the main text (plain, and as
        # clean HTML), the lead image, tags or categories, links to attachments (PDF, office
        # files, archives) and the page's language
        "article": (
            "title",
            "published",
            "updated",
            "author",
            "body",
            "body_html",
            "image",
            "tags",
            "attachments",
            "language",
        ),
        # schema.org Product (JSON-LD, microdata), then OpenGraph, then the page itself
        "product": (
            "name",
            "description",
            "price",
            "currency",
            "availability",
            "sku",
            "brand",
            "images",
        ),
    }
)
