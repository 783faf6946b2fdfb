"""Request specifications (:mod:`crawler.rules.request_specs`) turned into Scrapy requests, in one
place: start requests, links and pagination, ``scrapy seed`` and preview all come through here.

What a response needs to know about the request that fetched it travels in ``meta``: its page
type, the values carried to its items, its place in a pagination sequence, and the headers that
every request it leads to sends again. A sitemap or feed (:mod:`crawler.spider.listings`) has no
page type: its ``META_LISTING`` says what it is, which start it serves and how deep it lies; a
page it lists carries when it last changed (``META_LASTMOD``, for incremental crawls) and the
crawl depth that counts as its start's (``META_DEPTH_BASE``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scrapy.http import FormRequest, JsonRequest, Request

from crawler.rules.model import MISSING
from crawler.rules.request_specs import RequestSpec, strip_userinfo

META_PAGE = "rule_page"
META_CARRY = "rule_carry"
META_PAGENO = "rule_pageno"
META_HEADERS = "rule_headers"
META_START = "rule_start"  # the index of the rule's start that made a start request
META_LISTING = "rule_listing"  # a sitemap, robots.txt or feed: {kind, depth, start}
META_LASTMOD = "rule_lastmod"  # a listed page: when its listing says it changed (epoch seconds)
META_DEPTH_BASE = "rule_depth_base"  # a listed page and what it leads to: its start's depth


def to_request(
    spec: RequestSpec, callback: Callable[..., Any], errback: Callable[..., Any]
) -> Request:
    """The Scrapy request for ``spec`` (never with user info in its URL); ValueError when
    Scrapy refuses its URL."""
    meta: dict[str, Any] = {META_PAGE: spec.page, META_CARRY: dict(spec.carry)}
    if spec.pageno != 1:
        meta[META_PAGENO] = spec.pageno
    if spec.headers:
        meta[META_HEADERS] = dict(spec.headers)
    if spec.listing is not None:  # no page type, and never the start's rendering
        listing = {"kind": spec.listing, "depth": spec.listing_depth, "start": spec.start_index}
        meta.update({META_PAGE: None, META_LISTING: listing})
    elif spec.start_index is not None:
        meta[META_START] = spec.start_index
    if spec.lastmod is not None:
        meta[META_LASTMOD] = spec.lastmod
    if spec.depth_base:
        meta[META_DEPTH_BASE] = spec.depth_base
    common: dict[str, Any] = {
        "callback": callback,
        "errback": errback,
        "meta": meta,
        "priority": spec.priority,
        "headers": dict(spec.headers) or None,
        "dont_filter": spec.start,
    }
    url = strip_userinfo(spec.url)
    if spec.form is not None:
        return FormRequest(url, method=spec.method, formdata=dict(spec.form), **common)
    if spec.json is not MISSING:
        return JsonRequest(url, method=spec.method, data=spec.json, **common)
    return Request(url, method=spec.method, body=spec.body, **common)


def inherited_headers(meta: Mapping[str, Any]) -> Mapping[str, str]:
    """The headers a response's follow-up requests send (the rule's and its start's)."""
    return meta.get(META_HEADERS) or {}
