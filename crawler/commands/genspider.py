"""``scrapy genspider`` on this platform: spiders are YAML rules, so it starts one with
``scrapy rules new NAME URL`` (a bare domain is read as its https home page)."""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.rules import new_rule
from crawler.spider.project import compile_context


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "NAME URL-or-DOMAIN"

    def short_desc(self) -> str:
        return "Start a rule (spiders are YAML rules here): same as scrapy rules new NAME URL"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 2:
            raise UsageError("use: scrapy genspider NAME URL (or scrapy rules new NAME URL)")
        name, target = args
        url = target if "://" in target else f"https://{target}/"
        print(f"spiders are rules here: running scrapy rules new {name} {url}", file=sys.stderr)
        self.exitcode = new_rule(self.settings, [name, url], compile_context(self.settings))
