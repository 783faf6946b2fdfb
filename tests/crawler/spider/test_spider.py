"""The generated spider: start requests from templates, POST bodies, settings and domains."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref

from scrapy.http import FormRequest, JsonRequest, Request, Response
from scrapy.utils.test import get_crawler

from crawler.spider.extract import Follow
from crawler.spider.project import parse_rule
from crawler.spider.rule_spider import RuleSpider
from tests.settings import project_settings

RULE = """\
name: shop
args: {site: "http://shop.test", cat: books, token: null}
settings: {DOWNLOAD_DELAY: 0.25, CONCURRENT_REQUESTS: 4}
encoding: gb18030
start:
  - url: "{site}/{cat}/page/{1..3}"
    page: listing
  - urls: ["{site}/a?o={0..40..20}", "http://cdn.shop.test/x"]
    page: listing
    priority: 5
  - url: "{site}/search"
    page: listing
    form: {q: "{cat}", n: 10}
    headers: {X-Token: "{token}"}
  - url: "{site}/api"
    page: listing
    json: {query: {cat: "{cat}"}, tags: ["{cat}", 1]}
    method: PUT
pages:
  listing:
    priority: 1
    fields: {t: {css: title}}
"""


def start_requests(**kwargs):
    spidercls = RuleSpider.for_rule(parse_rule(RULE, filename="shop.yaml"))
    crawler = get_crawler(spidercls, project_settings())
    spider = spidercls.from_crawler(crawler, **kwargs)

    async def collect():
        return [r async for r in spider.start()]

    return spider, asyncio.run(collect())


def test_templated_and_ranged_start_urls_with_arguments():
    spider, requests = start_requests(cat="music", token="t0k")
    urls = [r.url for r in requests]
    assert urls[:6] == [
        "http://shop.test/music/page/1",
        "http://shop.test/music/page/2",
        "http://shop.test/music/page/3",
        "http://shop.test/a?o=0",
        "http://shop.test/a?o=20",
        "http://shop.test/a?o=40",
    ]
    assert urls[6] == "http://cdn.shop.test/x"
    assert [r.priority for r in requests[:7]] == [1, 1, 1, 5, 5, 5, 5]
    assert spider.allowed_domains == ["shop.test", "cdn.shop.test"]


def test_post_form_and_json_bodies_with_templated_headers():
    _, requests = start_requests(token="t0k")
    form, api = requests[7], requests[8]
    assert isinstance(form, FormRequest) and form.method == "POST"
    assert form.body == b"q=books&n=10"
    assert form.headers[b"X-Token"] == b"t0k"
    assert isinstance(api, JsonRequest) and api.method == "PUT"
    assert json.loads(api.body) == {"query": {"cat": "books"}, "tags": ["books", 1]}


def test_rule_settings_become_spider_settings():
    spidercls = RuleSpider.for_rule(parse_rule(RULE, filename="shop.yaml"))
    assert spidercls.custom_settings == {
        "DOWNLOAD_DELAY": 0.25,
        "CONCURRENT_REQUESTS": 4,
        "RESPONSE_ENCODING": "gb18030",
    }
    crawler = get_crawler(spidercls, project_settings())
    assert crawler.settings.getfloat("DOWNLOAD_DELAY") == 0.25


def test_a_required_argument_left_out_yields_no_requests():
    spider, requests = start_requests()  # token is required (null default)
    assert requests == []
    assert spider.crawler.stats.get_value("rule/missing_arguments") == "token"


def test_every_request_shares_one_callback_object():
    # Scrapy checks each response's callback source (is_generator_with_return_value) and caches
    # the answer under a weak reference to the callback object: one object for all requests
    # keeps that cache warm instead of re-parsing parse_page's source per response.
    spider, requests = start_requests(cat="music")
    page = Response("http://shop.test/", request=Request("http://shop.test/"))
    follows = [
        spider.follow_request(Follow(f"http://shop.test/{n}", "listing"), page) for n in "ab"
    ]
    callbacks = {id(r.callback) for r in [*requests, *follows]}
    assert callbacks == {id(spider.parse_page)}
    assert all(r.to_dict(spider=spider)["callback"] == "parse_page" for r in follows)
    held = weakref.ref(spider.parse_page)
    assert held() is not None  # held by the spider, so the cache entry stays


ROUTED = """\
name: shop
start: [{url: "http://shop.test/", page: hub}]
pages:
  hub:
    links: [{css: a, to: book}]
  listing:
    fields: {t: {css: title}}
  shelf:
    item: {collection: shelves, key: t}
    fields: {t: {css: title}}
  book:
    item: {type: book}
    fields: {title: {css: h1}}
"""


def test_start_logs_where_the_items_of_each_page_type_go(caplog):
    from crawler.rules.itemtypes import ItemType

    book = ItemType.from_dict({"name": "book", "fields": {"title": {"type": "string"}}})
    rule = parse_rule(ROUTED, filename="shop.yaml", item_types={"book": book})
    spidercls = RuleSpider.for_rule(rule, {"book": book})
    spider = spidercls.from_crawler(get_crawler(spidercls, project_settings()))
    caplog.set_level(logging.INFO, logger="shop")

    async def first_request():
        return await anext(spider.start())

    assert asyncio.run(first_request()).url == "http://shop.test/"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("items of")]
    assert lines == [  # the hub makes no items: no line
        "items of page type listing -> collection 'shop' (named after rule 'shop'), "
        "key url (else the page URL _url), item type none",
        "items of page type shelf -> collection 'shelves' (set by item.collection), key t, "
        "item type none",
        "items of page type book -> collection 'book' (named after item type 'book'), key _url, "
        "item type book",
    ]
