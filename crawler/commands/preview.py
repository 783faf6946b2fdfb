"""``scrapy preview <rule> <url> [--page TYPE] [--save] [--render]``: fetch one page through the
crawl's middlewares and print what the rule extracts from it, with empty fields flagged; why it
took that page type (``page_choice``), where its items would be stored (``stored_in``), and a
warning for each link selector, rows or pagination that found nothing (``warnings``, also on
stderr).

A page the rule renders (``render:`` on its page type or start), or any page with ``--render``,
is fetched in the browser: the fields come from the rendered DOM (and captured JSON), and a
full-page screenshot is saved (``--screenshot FILE``, else beside the screenshots of crawls in
``RENDER_SCREENSHOT_DIR``). ``--save`` keeps the rendered HTML and the captured JSON as the
fixture, so ``scrapy rules test`` stays offline.

Preview is this command's concern alone (as ``scrapy parse`` patches ``start``): it replaces the
spider's start with the one request asked for, stores nothing, records no run, keeps the crawl
on this machine and neither reads nor writes the seen-URL state of incremental crawls.

Preview keeps the address policy of crawls (:mod:`crawler.core.addresses`): a URL on a private
or loopback address other than the rule's start origins is refused before anything is fetched
(one line, exit 2), and so are its redirects there (the URL guard, one line, exit 1); a rendered
page's requests are guarded as in a crawl. Only the arguments the rule declares are taken
(``-a`` of another name: one line, exit 2): the spider never gets an attribute from the command
line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.http import Request, Response

from crawler.commands.crawl import check_command_line_settings
from crawler.commands.ruleargs import RuleArgumentsMixin
from crawler.core.addresses import refusal_message, rule_policy
from crawler.render import META_RENDER, META_SCREENSHOT
from crawler.rules.request_specs import (
    page_choice,
    resolve_args,
    start_made,
    url_problem,
    url_request,
)
from crawler.rules.routing import describe_route
from crawler.rules.sections.render import RenderSpec
from crawler.spider.extract import EMPTY_VALUES, nothing_found
from crawler.spider.fixtures import fixture_name, result_to_json, save_fixture
from crawler.spider.requests import META_CARRY, META_PAGE, to_request
from crawler.spider.rule_spider import RuleSpider


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
        return "<rule> <url> [--page TYPE] [--save] [--render] [--screenshot FILE] [-a NAME=VALUE]"

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
        parser.add_argument(
            "--render",
            action="store_true",
            help="render the page in the browser (automatic for the rule's render: pages)",
        )
        parser.add_argument("--screenshot", help="where to save the rendered page's screenshot")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)
        self.screenshot_dir = self.settings.get("RENDER_SCREENSHOT_DIR")  # before PREVIEW_SETTINGS
        for name, value in PREVIEW_SETTINGS.items():
            self.settings.set(name, value, priority="cmdline")
        if opts.render:
            self.settings.set("RENDER_ENABLED", True, priority="cmdline")
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
        unknown = sorted(k for k in opts.spargs if k not in rule.args)
        if unknown:
            raise UsageError(
                f"rule {name!r} has no argument(s) {', '.join(unknown)}; "
                f"declared: {', '.join(rule.args) or 'none'}",
                print_help=False,
            )
        problem = url_problem(url)
        if problem:
            raise UsageError(f"cannot preview {url!r}: {problem}", print_help=False)
        policy = rule_policy(rule, resolve_args(rule, opts.spargs).values)
        refusal = policy.refusal_blocking(url)
        if refusal:
            raise UsageError(
                f"cannot preview: {refusal_message(url, refusal, policy)}", print_help=False
            )
        preview: dict[str, Any] = {}
        crawler = self.crawler_process.create_crawler(spidercls)
        spidercls.start = preview_start(url, opts.page, preview, force_render=opts.render)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        spider = crawler.spider
        if not preview:
            print(f"error: no response for {url} (see the log above)", file=sys.stderr)
            self.exitcode = 1
            return
        if "error" in preview:
            print(f"error: {preview['error']}", file=sys.stderr)
            self.exitcode = 1
            return
        if preview["page"] is None:
            raise UsageError(
                f"cannot tell which page type {url} is: {preview['page_choice']}; "
                f"pass --page with one of {', '.join(rule.pages)}",
                print_help=False,
            )
        result = preview["result"]
        response = preview["response"]
        page = rule.pages[preview["page"]]
        warnings = nothing_found(page, result.found)
        output = {
            "rule": rule.name,
            "url": response.url,
            "page": preview["page"],
            "page_choice": preview["page_choice"],
            "status": response.status,
            "encoding": getattr(response, "encoding", None),
            "stored_in": (
                describe_route(rule, spider.routes[page.name]) if page.emits_items else None
            ),
            **result_to_json(result),
            "empty_fields": empty_fields(result.items),
            "warnings": warnings,
        }
        output["links"] = output["links"][:200]
        if preview.get("rendered"):
            output["rendered"] = True
            shot = self.save_screenshot(opts, rule.name, response, preview["page"])
            if shot:
                output["screenshot"] = shot
        if spider.redactor:
            output = spider.redactor.value(json.loads(json.dumps(output, default=str)))
        print(json.dumps(output, indent=2, ensure_ascii=False, default=str))
        print(f"page type {page.name}: {output['page_choice']}", file=sys.stderr)
        for line in output["warnings"]:
            print(f"warning: {line}", file=sys.stderr)
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
                redactor=spider.redactor,
            )
            print(f"saved fixture {path}", file=sys.stderr)

    def save_screenshot(self, opts: argparse.Namespace, rule: str, response: Any, page: str) -> str:
        png = response.meta.get(META_SCREENSHOT)
        if not png:
            return ""
        if opts.screenshot:
            path = Path(opts.screenshot)
        else:
            directory = Path(self.screenshot_dir or ".") / rule
            path = directory / f"preview-{fixture_name(response.url, page)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        print(f"saved screenshot {path}", file=sys.stderr)
        return str(path)


# A preview stores nothing, records no run (nor keeps a run's log), stays on this machine and
# keeps no seen-URL state; its output is the command's, so no progress or coverage lines.
PREVIEW_SETTINGS = {
    "ITEM_PIPELINES": {},
    "STORE_RUNS_ENABLED": False,
    "DISTRIBUTED": False,
    "INCREMENTAL_STATE_URI": "",
    "RENDER_SCREENSHOT_DIR": "",  # preview saves its own screenshot (--screenshot)
    "RUN_LOG_DIR": "",
    "PROGRESS_INTERVAL": 0,
    "COVERAGE_ENABLED": False,
}


def preview_start(
    url: str, page: str | None, preview: dict[str, Any], *, force_render: bool = False
) -> Any:
    """A ``start`` for the rule spider that makes the one request previewed and keeps what the
    rule extracts from its response in ``preview``. A rendered page also takes a screenshot."""

    async def start(spider: RuleSpider) -> AsyncIterator[Request]:
        spec = url_request(spider.rule, url, spider.args, page=page)
        if page is not None:
            choice = "given with --page"
        elif spec.start_index is not None:
            choice = start_made(spec.start_index, spec.page)
        else:
            choice = page_choice(spider.rule, url, spider.args)[1]

        def extract(response: Response) -> None:
            kind, why = response.meta.get(META_PAGE), choice
            if kind is None and response.url != url:  # perhaps where it redirected fits
                kind, why = page_choice(spider.rule, response.url, spider.args)
                why = f"after the redirect to {response.url}, {why}"
            now = datetime.now(UTC)
            carry = response.meta.get(META_CARRY) or {}
            preview.update(
                page=kind, page_choice=why, response=response, crawl_time=now, carry=carry
            )
            if kind is not None:
                preview["result"] = spider.compiled.extract(kind, response, carry=carry, now=now)

        def failed(failure: Any) -> None:
            response = getattr(failure.value, "response", None)
            preview.update(error=failure.getErrorMessage(), response=response)

        request = to_request(spec, extract, failed)
        request.meta["allow_offsite"] = True
        plan = spider.rule.section("render")
        render = plan.for_request(spec.page, spec.start_index) if plan else None
        if render is None and force_render:
            render = RenderSpec(wait_until="networkidle")  # whatever the page's script loads
        if render is not None:
            request.meta[META_RENDER] = dataclasses.replace(render, screenshot=True)
            preview["rendered"] = True
        yield request.replace(dont_filter=True)

    return start
