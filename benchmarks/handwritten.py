"""Hand-written Scrapy spiders doing exactly what a rule does: the baselines the generated rule
spider is measured against (same selectors, same cleaning, same carry-over, same priorities).

``HandwrittenBooks`` is rules/sample_books.yaml (the small pages of the sample site);
``HandwrittenBlog`` is benchmarks/rules/bench_blog.yaml (the big-page blog, 50-300 KB pages).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import scrapy

from cleaners.registry import REGISTRY

RATINGS = {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5}
STOCK = re.compile(r"\((\d+) available\)")
SKU = re.compile(r'"sku":\s*"([0-9a-f]+)"')
RATING = re.compile(r"star-rating (\w+)")
collapse = REGISTRY.compile(["collapse_whitespace"])
amount = REGISTRY.compile([{"price": {"field": "amount"}}])
currency = REGISTRY.compile([{"price": {"field": "currency"}}])
date = REGISTRY.compile([{"date": {"date_only": True}}])
datetime_ = REGISTRY.compile(["date"])


class HandwrittenBooks(scrapy.Spider):
    name = "handwritten_books"

    def __init__(self, site: str = "http://127.0.0.1:8000", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [f"{site}/"]
        self.allowed_domains = ["127.0.0.1"]

    def parse(self, response):
        for href in response.css("ul.tags a.tag::attr(href)").getall():
            yield response.follow(href, self.parse_list)

    def parse_list(self, response):
        tag = (response.css("h1::text").get() or "").strip()
        for row in response.css("article.book"):
            match = RATING.search(row.css("p.star-rating::attr(class)").get() or "")
            rating = RATINGS.get(match.group(1)) if match else None
            href = row.css("h3 a::attr(href)").get()
            if href:
                yield response.follow(
                    href, self.parse_book, priority=10, cb_kwargs={"rating": rating, "tag": tag}
                )
        next_page = response.css("li.next a::attr(href)").get()
        if next_page:
            yield response.follow(next_page, self.parse_list)

    def parse_book(self, response, rating, tag):
        price_text = response.css("p.price_color::text").get()
        stock = STOCK.search(response.css("p.availability::text").get() or "")
        description = response.css("#product_description p").xpath("string()").get()
        published = response.xpath(
            "//table[@class='product_info']//th[.='Published']/following-sibling::td/text()"
        ).get()
        sku = SKU.search(response.text)
        item = {
            "rating": rating,
            "tag": tag,
            "title": collapse(response.css("div.product_main h1::text").get()),
            "price": amount(price_text) if price_text else None,
            "currency": currency(price_text) if price_text else None,
            "stock": int(stock.group(1)) if stock else None,
            "description": collapse(description) if description else None,
            "upc": response.xpath(
                "//table[@class='product_info']//th[.='UPC']/following-sibling::td/text()"
            ).get(),
            "published": date(published) if published else None,
            "sku": sku.group(1) if sku else None,
            "_url": response.url,
            "_rule": self.name,
            "_page": "book",
            "_crawled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        errors = [
            f"{name}: required field is empty"
            for name in ("title", "price")
            if item[name] in (None, "")
        ]
        if errors:  # worded as the rule spider words it
            item["_errors"] = errors
        yield item


class HandwrittenBlog(scrapy.Spider):
    name = "handwritten_blog"

    def __init__(self, site: str = "http://127.0.0.1:8000", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [f"{site}/blog/"]
        self.allowed_domains = ["127.0.0.1"]

    def parse(self, response):
        for href in response.css("h2.entry-title a::attr(href)").getall():
            yield response.follow(href, self.parse_post, priority=10)
        next_page = response.css("a.next::attr(href)").get()
        if next_page:
            yield response.follow(next_page, self.parse)

    def parse_post(self, response):
        title = response.css("h1.entry-title::text").get()
        published = response.css("time.published::attr(datetime)").get()
        body = response.css("div.entry-content").xpath("string()").get()
        item = {
            "title": collapse(title) if title else None,
            "published": datetime_(published) if published else None,
            "categories": response.css("span.cat-links a[rel~=tag]::text").getall(),
            "body": collapse(body) if body else None,
            "_url": response.url,
            "_rule": self.name,
            "_page": "post",
            "_crawled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if not item["title"]:
            item["_errors"] = ["title: required field is empty"]
        yield item
