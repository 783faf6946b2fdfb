"""``scrapy validate [RULE...]``: check rule files against the schema and the platform's checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.rules.itemtypes import load_item_types
from crawler.rules.load import RuleError, load_project_modules, load_rule, rule_files


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
        return "[RULE or FILE ...]"

    def short_desc(self) -> str:
        return "Check rule files; print each problem as file:line:column: field: message"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        load_project_modules(self.settings)
        paths = resolve_rule_paths(args, self.settings.get("RULES_DIR"))
        if not paths:
            raise UsageError(f"no rule files in {self.settings.get('RULES_DIR')}", print_help=False)
        bad = 0
        problems = 0
        type_problems = load_item_types(self.settings.get("RULES_DIR"))[1]
        for problem in type_problems:
            print(problem)
        bad_types = len({p.file for p in type_problems})
        for path in paths:
            try:
                rule = load_rule(path)
                for warning in rule.warnings:
                    print(warning)
            except RuleError as exc:
                bad += 1
                problems += len(exc.problems)
                for problem in exc.problems:
                    print(problem)
        if not opts.quiet:
            ok = len(paths) - bad
            print(f"{len(paths)} rule file(s): {ok} ok, {bad} with {problems} problem(s)")
            if bad_types:
                print(f"{bad_types} item type file(s) with {len(type_problems)} problem(s)")
        self.exitcode = 1 if bad or bad_types else 0
