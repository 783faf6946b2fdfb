"""``scrapy validate [RULE...]``: check rule files with the compiler the crawl uses; print every
problem as ``file:line:column: field: message``, warnings included (``--strict``: warnings fail)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.rules import RuleError, load_rule
from crawler.rules.files import rule_files
from crawler.rules.itemtypes import load_item_types
from crawler.spider.project import compile_context


def resolve_rule_paths(args: list[str], rules_dir: str) -> list[Path]:
    """Rule names or paths -> files; every rule under ``rules_dir`` when none are given."""
    if not args:
        return rule_files(rules_dir)
    paths = []
    for arg in args:
        path = Path(arg)
        if path.is_file():
            paths.append(path)
            continue
        matches = [p for p in rule_files(rules_dir) if p.stem == arg]
        if not matches:
            raise UsageError(
                f"no rule file named {arg!r} (looked for {arg} and {rules_dir}/{arg}.yaml)",
                print_help=False,
            )
        paths.extend(matches)
    return paths


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[RULE or FILE ...] [--strict]"

    def short_desc(self) -> str:
        return "Check rule files; print each problem as file:line:column: field: message"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
        parser.add_argument(
            "--strict",
            action="store_true",
            help="warnings (such as an unset ${VARIABLE}) fail the validation too",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        context = compile_context(self.settings)
        rules_dir = self.settings.get("RULES_DIR")
        paths = resolve_rule_paths(args, rules_dir)
        if not paths:
            raise UsageError(f"no rule files in {rules_dir}", print_help=False)
        bad = problems = warned = 0
        item_types, type_problems = load_item_types(rules_dir)
        for problem in type_problems:
            print(problem)
        bad_types = len({p.file for p in type_problems})
        # Rules of RULES_DIR compile against the item types just read; a file elsewhere, against
        # the types beside it.
        in_dir = replace(context, item_types=item_types)
        for path in paths:
            here = in_dir if path.parent.resolve() == Path(rules_dir).resolve() else context
            try:
                rule = load_rule(path, here)
            except RuleError as exc:
                bad += 1
                problems += len(exc.errors)
                for problem in exc.problems:
                    print(problem)
                continue
            for warning in rule.warnings:
                print(warning)
            warned += bool(rule.warnings)
        if not opts.quiet:
            ok = len(paths) - bad
            print(f"{len(paths)} rule file(s): {ok} ok, {bad} with {problems} problem(s)")
            if bad_types:
                print(f"{bad_types} item type file(s) with {len(type_problems)} problem(s)")
        failed = bad or bad_types or (opts.strict and warned)
        self.exitcode = 1 if failed else 0
