"""Archived pages parsed again by the rule as it is now, the way a crawl parses them.

Each page becomes the response the rule spider saw: the answered URL, status and body, with the
headers that decode it, decoded by the encoding middleware under the current rule (its
``encoding:`` may be the fix), and a request carrying what the crawl's request carried (page
type, carried values, depth, page number, captured JSON). The rule spider's own
``extract_page`` parses it (with the time the page was fetched, so relative dates read as they
did), its redactor masks secrets as it does for a crawl's items, and the item pipeline's
:func:`crawler.store.typed_item` maps and validates each item against its item type. Where each
item goes (collection, key, or dead letters and why) is the store pipeline's decision, made the
same way: an item marked invalid, or without its key, is a dead letter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.http import Headers, Request, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings

from crawler.archive.sqlite_archive import PageRecord
from crawler.rules.model import Rule
from crawler.spider import EncodingMiddleware, RuleSpider
from crawler.store import StoreTarget, missing_key_field, typed_item


@dataclass
class ReplayedItem:
    item: dict[str, Any]
    target: StoreTarget
    dead: str | None = None  # the dead-letter reason, None: an item to store


@dataclass
class Replayed:
    page: str | None  # the page type that parsed it now; None: none does
    items: list[ReplayedItem] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (reason, message)


class Replayer:
    """One rule, compiled once, parsing archived pages again."""

    def __init__(
        self,
        rule: Rule,
        item_types: Mapping[str, Any],
        settings: BaseSettings,
        args: Mapping[str, Any] | None = None,
    ):
        self.rule = rule
        self.spider = RuleSpider.for_rule(rule, item_types)(**dict(args or {}))
        crawl = settings.copy()
        crawl.setdict(dict(rule.crawl_settings), priority="spider")
        self.encoding = EncodingMiddleware(
            crawl.get("RESPONSE_ENCODING") or None, crawl.getbool("RESPONSE_ENCODING_DETECT")
        )

    def response(self, record: PageRecord) -> Response:
        request = Request(record.url, meta=dict(record.meta), dont_filter=True)
        headers = Headers(record.headers)
        cls = responsetypes.from_args(headers=headers, url=record.final_url, body=record.body)
        response = cls(
            url=record.final_url,
            status=record.status,
            headers=headers,
            body=record.body,
            request=request,
        )
        if isinstance(response, TextResponse):
            response = self.encoding.process_response(request, response)
        return response

    def replay(self, record: PageRecord) -> Replayed:
        spider = self.spider
        fetched = datetime.fromtimestamp(record.fetched_at, UTC)
        extracted = spider.extract_page(self.response(record), now=fetched)
        if extracted is None:
            return Replayed(None)
        page, result = extracted
        replayed = Replayed(page, problems=list(result.problems))
        for item in result.items:
            if spider.redactor:
                item = spider.redactor.value(item)
            item = typed_item(item, spider.routes.get(item.get("_page") or ""))
            replayed.items.append(self.routed(item))
        return replayed

    def routed(self, item: dict[str, Any]) -> ReplayedItem:
        """Where ``item`` goes, as the store pipeline decides it (crawler/store/store_pipeline.py
        ``_route``): invalid items and items without their key are dead letters."""
        target = self.spider.store_target(item)
        errors = item.get("_errors")
        if errors:
            reason = "; ".join(map(str, errors)) if isinstance(errors, list) else str(errors)
            return ReplayedItem(item, target, reason)
        missing = missing_key_field(item, target.key)
        if missing is not None:
            return ReplayedItem(item, target, f"missing key field '{missing}'")
        return ReplayedItem(item, target)
