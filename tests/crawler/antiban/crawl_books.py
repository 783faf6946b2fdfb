"""Crawl a list of URLs with the project's settings and middlewares; write what was fetched.

Run by the anti-ban tests in a subprocess: ``python crawl_books.py '{"urls": [...],
"settings": {...}, "out": "result.json"}'``. The settings are applied at command-line priority,
as ``scrapy crawl -s`` would. The result holds ``fetched`` (url -> the page's <h1>), ``errors``
(urls whose errback fired) and the final stats.
"""

from __future__ import annotations

import importlib
import json
import sys

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from tests.settings import NO_PROJECT_DATA


class BooksSpider(scrapy.Spider):
    name = "antiban_books"

    def __init__(self, urls: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.fetched: dict[str, str] = {}
        self.errors: list[str] = []

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response):
        self.fetched[response.url] = response.css("h1::text").get(default="")
        yield {"url": response.url}

    def failed(self, failure):
        self.errors.append(failure.request.url)


def project_settings(overrides: dict[str, object]) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    # The rule spider loader is not needed to run a spider class.
    settings.set("SPIDER_LOADER_CLASS", "scrapy.spiderloader.SpiderLoader", priority="project")
    mws = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    for path in list(mws):
        try:
            importlib.import_module(path.rsplit(".", 1)[0])
        except ImportError:
            del mws[path]  # a middleware of another branch that has not landed here yet
    settings.set("DOWNLOADER_MIDDLEWARES", mws, priority="project")
    # The anti-ban tests look at requests, not at stored items: nothing goes to any store.
    settings.setdict(NO_PROJECT_DATA, priority="project")
    settings.setdict(overrides, priority="cmdline")
    return settings


def main() -> None:
    args = json.loads(sys.argv[1])
    process = CrawlerProcess(project_settings(args["settings"]), install_root_handler=True)
    crawler = process.create_crawler(BooksSpider)
    process.crawl(crawler, urls=args["urls"])
    process.start()
    spider = crawler.spider
    stats = {
        k: (v if isinstance(v, (int, float, str)) else str(v))
        for k, v in crawler.stats.get_stats().items()
    }
    with open(args["out"], "w") as f:
        json.dump({"fetched": spider.fetched, "errors": spider.errors, "stats": stats}, f, indent=1)


if __name__ == "__main__":
    main()
