"""``scrapy rules test [RULE...] [--update]``: re-run rules on their stored pages, offline, and
report every value that changed; ``scrapy rules list``: rules with their page types and fixtures."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.fixtures import fixtures_dir, run_fixture
from crawler.project import compile_context
from crawler.rules import RuleError, load_rule

from .validate import resolve_rule_paths


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "test|list [RULE...] [--update]"

    def short_desc(self) -> str:
        return "Regression-test rules on their stored fixture pages (test), or list rules (list)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--update", action="store_true", help="accept the new output as expected"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        context = compile_context(self.settings)
        if not args or args[0] not in ("test", "list"):
            raise UsageError(
                "use: scrapy rules test [RULE...] or scrapy rules list", print_help=False
            )
        rules_dir = self.settings.get("RULES_DIR")
        paths = resolve_rule_paths(args[1:], rules_dir)
        tested = changed = broken_rules = 0
        for path in paths:
            try:
                rule = load_rule(path, context)
            except RuleError as exc:
                broken_rules += 1
                print(f"FAIL {path.stem}: the rule has problems (scrapy validate {path.stem})")
                for problem in exc.problems:
                    print(f"  {problem}")
                continue
            fixtures = sorted(fixtures_dir(rules_dir, rule.name).glob("*.json"))
            if args[0] == "list":
                tag = " [needs internet]" if rule.needs_internet else ""
                print(
                    f"{rule.name}: pages {', '.join(rule.pages)}; {len(fixtures)} fixture(s){tag}"
                )
                continue
            for fixture in fixtures:
                tested += 1
                run = run_fixture(fixture, rule, update=opts.update)
                if run.error or run.differences:
                    changed += 1
                    verb = "UPDATED" if opts.update and not run.error else "FAIL"
                    print(f"{verb} {rule.name} {fixture.stem}")
                    for line in [run.error] if run.error else run.differences:
                        print(f"  {line}")
                else:
                    print(f"ok   {rule.name} {fixture.stem}")
        if args[0] == "test":
            summary = f"{tested} fixture(s), {tested - changed} ok, {changed} changed or failing"
            print(summary + (f"; {broken_rules} rule(s) with problems" if broken_rules else ""))
        failed = broken_rules or (changed and not opts.update)
        self.exitcode = 1 if failed else 0
