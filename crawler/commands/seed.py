"""``scrapy seed RULE [URL ...]``: push start requests of a distributed crawl to Redis.

Without URLs the rule's own start requests are pushed (templated with ``-a`` arguments); URLs
given land on ``--page`` (default: the page type whose ``match`` fits, else the first start's).
By default the previous crawl's queue and dupefilter are cleared first; ``--add`` adds to a
running crawl instead.
"""

from __future__ import annotations

import argparse
import asyncio

from scrapy import Request
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.ruleargs import RuleArgumentsMixin
from crawler.distributed.addon import quiet_scrapy_redis_warnings
from crawler.distributed.connection import (
    RedisUnreachable,
    check_reachable,
    redis_from_settings,
)
from crawler.distributed.keys import CrawlKeys
from crawler.distributed.seed import push_requests, reset_crawl
from crawler.spiders.rule import META_CARRY, META_PAGE, RuleSpider


class Command(RuleArgumentsMixin, ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "RULE [URL ...] [-a NAME=VALUE ...] [--page PAGE] [--add]"

    def short_desc(self) -> str:
        return "Push a rule's start requests (or URLs) to Redis for distributed workers"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--page", help="page type of the URLs given")
        parser.add_argument(
            "--add",
            action="store_true",
            help="add to the crawl in Redis instead of starting a fresh one",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("name a rule to seed", print_help=True)
        name, urls = args[0], args[1:]
        settings = self.settings
        quiet_scrapy_redis_warnings()
        from scrapy.spiderloader import get_spider_loader

        spidercls = get_spider_loader(settings).load(name)
        if not issubclass(spidercls, RuleSpider):
            raise UsageError(f"{name!r} is not a rule spider", print_help=False)
        spider = spidercls(**opts.spargs)
        if spider.missing_args:
            example = " ".join(f"-a {n}=VALUE" for n in spider.missing_args)
            raise UsageError(f"rule {name} needs: scrapy seed {name} {example}", print_help=False)
        requests = (
            self.url_requests(spider, urls, opts.page) if urls else self.start_requests(spider)
        )
        server = redis_from_settings(settings)
        try:
            check_reachable(server, settings)
        except RedisUnreachable as exc:
            raise UsageError(str(exc), print_help=False) from None
        keys = CrawlKeys.for_rule(name, settings)
        if not opts.add:
            reset_crawl(server, keys)
        count = push_requests(server, spider, keys, requests)
        queued = server.zcard(keys.queue)
        print(f"seeded {count} request(s) into {keys.queue} ({queued} queued)")

    @staticmethod
    def start_requests(spider: RuleSpider) -> list[Request]:
        async def collect() -> list[Request]:
            return [r async for r in spider.start() if isinstance(r, Request)]

        return asyncio.run(collect())

    @staticmethod
    def url_requests(spider: RuleSpider, urls: list[str], page: str | None) -> list[Request]:
        rule = spider.rule
        if page is not None and page not in rule.pages:
            raise UsageError(f"rule {rule.name} has no page type {page!r}", print_help=False)
        requests = []
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise UsageError(f"not an http(s) URL: {url!r}", print_help=False)
            kind = page or spider.compiled.guess_page(url) or rule.start[0].page
            requests.append(
                Request(
                    url,
                    callback=spider.parse_page,
                    errback=spider.on_error,
                    meta={META_PAGE: kind, META_CARRY: {}},
                    priority=rule.pages[kind].priority,
                    dont_filter=True,
                )
            )
        return requests
