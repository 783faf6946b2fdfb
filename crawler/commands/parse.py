"""``scrapy parse``, taught about rule spiders: ``scrapy parse --spider RULE URL`` runs the page
type whose ``match`` fits the URL, ``--callback PAGE`` names one, and the request is the one
the rule would make for that URL (its start's method, body and headers when it is a start URL).

Like ``scrapy preview``, it stores nothing, records no run and keeps no seen-URL state.
"""

from __future__ import annotations

import argparse
from typing import Any

from scrapy import Request, Spider
from scrapy.commands.parse import Command as ScrapyParseCommand

from crawler.commands.preview import PREVIEW_SETTINGS
from crawler.rules.request_specs import url_request
from crawler.spider.requests import META_PAGE
from crawler.spider.rule_spider import RuleSpider


class Command(ScrapyParseCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        # The URL the person at this terminal named is theirs to reach, a loopback one too.
        trusted = [*self.settings.getlist("CRAWL_PRIVATE_ORIGINS"), *args[:1]]
        self.settings.set("CRAWL_PRIVATE_ORIGINS", trusted, priority="cmdline")
        for name, value in PREVIEW_SETTINGS.items():
            if name != "ITEM_PIPELINES" or not opts.pipelines:
                self.settings.set(name, value, priority="cmdline")

    def prepare_request(self, spider: Spider, request: Request, opts: argparse.Namespace) -> Any:
        if isinstance(spider, RuleSpider):
            rule = spider.rule
            page = opts.callback if opts.callback in rule.pages else None
            if page is not None:
                opts.callback = None  # a page type, not a method: the rule spider parses it
            spec = url_request(rule, request.url, spider.args, page=page)
            request = spider.request(spec).replace(dont_filter=True)
            request.meta[META_PAGE] = spec.page
            request.meta["allow_offsite"] = True
        return super().prepare_request(spider, request, opts)
