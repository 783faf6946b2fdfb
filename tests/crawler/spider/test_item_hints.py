"""An extracted item checked against its item type as a crawl checks it (extraction, then the
item-type pipeline): a field's cleaner chain runs on nothing found, and a message never asks to
add a cleaner the field's chain already has."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from crawler.rules.itemtypes import ItemType
from crawler.rules.routing import item_routes
from crawler.spider.project import parse_rule
from crawler.spider.rule_spider import RuleSpider
from crawler.store.itemtype_pipeline import ItemTypePipeline
from tests.crawler.spider.test_extract import NOW, html
from tests.settings import project_settings

POST = ItemType.from_dict(
    {
        "name": "post",
        "fields": {
            "title": {"type": "string"},
            "tags": {"type": "string"},
            "rating": {"type": "integer"},
        },
    }
)

RULE = """\
name: blog
start: [{{url: "http://example.com/", page: listing}}]
pages:
  listing:
    rows:
      css: ul.list li
      emit: false
      fields:
        rating: {{css: "::attr(data-id)", clean: [strip, to_str]}}
      links: [{{css: a, to: post, carry: [rating]}}]
  post:
    item: {{type: post}}
    fields:
      title: {{css: "h1 b::text"}}
      tags: {{css: {tags}, all: true, clean: {clean}}}
"""


def checked(tags: str, clean: str, carry: dict | None = None) -> dict:
    """The post item of the page in test_extract, after the item-type pipeline."""
    text = RULE.format(tags=tags, clean=clean)
    rule = parse_rule(text, filename="blog.yaml", item_types={"post": POST})
    spidercls = RuleSpider.for_rule(rule, {"post": POST})
    crawler = get_crawler(spidercls, project_settings())
    crawler.spider = spider = spidercls.from_crawler(crawler)
    [item] = spider.compiled.extract("post", html(), carry=carry, now=NOW).items
    return ItemTypePipeline(crawler).process_item(item)


def test_a_join_chain_on_nothing_found_makes_a_valid_item():
    item = checked(".nope::text", "[join]")
    assert item["tags"] == "" and "_errors" not in item


def test_a_chain_that_has_join_is_never_asked_to_add_it():
    item = checked('"li::attr(data-id)"', "[join, split]")  # join, then split it again
    assert item["_errors"] == [
        "tags: ['1', '2', '3'] is a list, not a string (add first to its clean chain)"
    ]


def test_a_carried_field_keeps_the_chain_of_the_page_it_came_from():
    text = RULE.format(tags="a", clean="[join]")
    rule = parse_rule(text, filename="blog.yaml", item_types={"post": POST})
    routes = item_routes(rule, {"post": POST})
    assert dict(routes["post"].cleaners) == {
        "tags": frozenset({"join"}),
        "rating": frozenset({"strip", "to_str"}),  # from the list page's rows, carried
    }
    item = checked(".nope::text", "[join]", carry={"rating": "4"})
    assert item["_errors"] == [
        "rating: '4' is a string, not an integer (add to_int to its clean chain)"
    ]
