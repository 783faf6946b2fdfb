"""``scrapy preview <rule> <url> [--page TYPE] [--save]``: fetch one page through the crawl's
middlewares and print what the rule extracts from it, with empty fields flagged."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.ruleargs import RuleArgumentsMixin
from crawler.extract import EMPTY_VALUES
from crawler.fixtures import result_to_json, save_fixture


def empty_fields(items: list[dict]) -> list[str]:
    return [
        f"items[{i}].{key}"
        for i, item in enumerate(items)
        for key, value in item.items()
        if not key.startswith("_") and value in EMPTY_VALUES
    ]


class Command(RuleArgumentsMixin, ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "<rule> <url> [--page TYPE] [--save] [-a NAME=VALUE]"

    def short_desc(self) -> str:
        return "Fetch one page and print the fields and links a rule extracts from it"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--page", help="page type to apply (default: guessed from match/start URLs)"
        )
        parser.add_argument(
            "--save", action="store_true", help="store the page and the output as a rule fixture"
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        # a preview stores nothing and records no run
        self.settings.set("ITEM_PIPELINES", {}, priority="cmdline")
        self.settings.set("STORE_RUNS_ENABLED", False, priority="cmdline")
        if not opts.loglevel:
            self.settings.set("LOG_LEVEL", "WARNING", priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 2:
            raise UsageError("give a rule name and a URL", print_help=True)
        name, url = args
        spidercls = self.crawler_process.spider_loader.load(name)
        rule = spidercls.rule
        if opts.page and opts.page not in rule.pages:
            raise UsageError(
                f"rule {name!r} has no page type {opts.page!r}; it has: {', '.join(rule.pages)}",
                print_help=False,
            )
        crawler = self.crawler_process.create_crawler(spidercls)
        self.crawler_process.crawl(
            crawler, _preview_url=url, _preview_page=opts.page, **opts.spargs
        )
        self.crawler_process.start()
        spider = crawler.spider
        preview: dict[str, Any] | None = getattr(spider, "preview", None)
        if preview is None:
            print(f"error: no response for {url} (see the log above)", file=sys.stderr)
            self.exitcode = 1
            return
        if "error" in preview:
            print(f"error: {preview['error']}", file=sys.stderr)
            self.exitcode = 1
            return
        if preview["page"] is None:
            raise UsageError(
                f"cannot tell which page type {url} is: pass --page with one of {', '.join(rule.pages)}",
                print_help=False,
            )
        result = preview["result"]
        response = preview["response"]
        output = {
            "rule": rule.name,
            "url": response.url,
            "page": preview["page"],
            "status": response.status,
            "encoding": getattr(response, "encoding", None),
            **result_to_json(result),
            "empty_fields": empty_fields(result.items),
        }
        output["links"] = output["links"][:200]
        print(json.dumps(output, indent=2, ensure_ascii=False, default=str))
        if opts.save:
            path = save_fixture(
                self.settings.get("RULES_DIR"),
                rule,
                page=preview["page"],
                response=response,
                result=result,
                args=spider.args,
                carry=preview["carry"],
                crawl_time=preview["crawl_time"],
            )
            print(f"saved fixture {path}", file=sys.stderr)
