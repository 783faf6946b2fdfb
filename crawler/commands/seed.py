"""``scrapy seed RULE [URL ...]``: push start requests of a distributed crawl to Redis.

Without URLs the rule's own start requests are pushed (templated with ``-a`` arguments); URLs
given land on ``--page`` (default: the page type whose ``match`` fits, else the first start's).
By default the previous crawl's queue and dupefilter are cleared first; ``--add`` adds to a
running crawl instead.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.crawl import check_command_line_settings
from crawler.commands.ruleargs import RuleArgumentsMixin
from crawler.rules import Rule
from crawler.rules.request_specs import (
    RequestSpec,
    StartError,
    start_requests,
    url_problem,
    url_request,
)

if TYPE_CHECKING:
    from scrapy import Request

    from crawler.spider.rule_spider import RuleSpider


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

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("name a rule to seed", print_help=True)
        name, urls = args[0], args[1:]
        settings = self.settings
        # Here, not at the top: Scrapy imports every command to list them, and only this one
        # needs Redis (scrapy-redis and redis-py: 7 MB, 0.1 s of every other command).
        from scrapy.spiderloader import get_spider_loader

        from crawler.core.redis import RedisUnreachable, check_reachable, redis_from_settings
        from crawler.distributed.addon import quiet_scrapy_redis_warnings
        from crawler.distributed.redis_keys import CrawlKeys
        from crawler.distributed.seed import push_requests, reset_crawl
        from crawler.spider.rule_spider import RuleSpider

        quiet_scrapy_redis_warnings()

        spidercls = get_spider_loader(settings).load(name)
        if not issubclass(spidercls, RuleSpider):
            raise UsageError(f"{name!r} is not a rule spider", print_help=False)
        rule = spidercls.rule
        spider = spidercls(**opts.spargs)  # the queue serializes callbacks by their spider
        if spider.missing_args:
            example = " ".join(f"-a {n}=VALUE" for n in spider.missing_args)
            raise UsageError(f"rule {name} needs: scrapy seed {name} {example}", print_help=False)
        if opts.page is not None and opts.page not in rule.pages:
            raise UsageError(f"rule {rule.name} has no page type {opts.page!r}", print_help=False)
        requests = requests_to_seed(
            spider, urls, opts.page, settings.getint("RULE_MAX_START_REQUESTS")
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


def requests_to_seed(
    spider: RuleSpider, urls: list[str], page: str | None, max_requests: int
) -> list[Request]:
    """The rule's start requests (or requests for ``urls``), as the spider would make them;
    UsageError naming what cannot be requested."""
    rule = spider.rule
    bad: list[str] = []
    try:
        if urls:
            specs = [url_spec(rule, url, spider.args, page) for url in urls]
        else:
            specs = list(
                start_requests(
                    rule,
                    spider.rule_args,
                    max_requests=max_requests,
                    on_bad_url=lambda url, why: bad.append(f"{url}: {why}"),
                )
            )
    except StartError as exc:
        raise UsageError(str(exc), print_help=False) from None
    requests = []
    for spec in specs:
        try:
            requests.append(spider.request(spec))
        except ValueError as exc:
            bad.append(f"{spec.url}: {exc}")
    if bad:
        raise UsageError(
            f"rule {rule.name}: cannot request {len(bad)} start URL(s), e.g. {bad[0]}",
            print_help=False,
        )
    return requests


def url_spec(rule: Rule, url: str, args: dict, page: str | None) -> RequestSpec:
    problem = url_problem(url)
    if problem:
        raise UsageError(f"cannot seed {url!r}: {problem}", print_help=False)
    spec = url_request(rule, url, args, page=page)
    if spec.page is None:
        spec = url_request(rule, url, args, page=rule.start[0].page)
    return spec
