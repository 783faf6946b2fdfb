"""``scrapy validate [RULE...]``: check rule files with the compiler the crawl uses; print every
problem as ``file:line:column: field: message``, warnings included (``--strict``: warnings fail).

What only the whole rules directory shows is checked too for the rules of ``RULES_DIR``: an
``after:`` (chained runs) naming a rule, tag or table that does not exist, or chains that loop."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.rules import CompileContext, Rule, RuleError, Ruleset, load_rule, load_rules
from crawler.rules.compiler import load_table
from crawler.rules.files import rule_files
from crawler.rules.itemtypes import load_item_types
from crawler.rules.tables import TABLES_DIR, table_files
from crawler.spider.project import compile_context


def resolve_rule_paths(args: list[str], rules_dir: str, tables: bool = False) -> list[Path]:
    """Rule names or paths -> files; every rule under ``rules_dir`` when none are given (and
    with ``tables``, the site tables too, which a name may also pick)."""
    if not args:
        return rule_files(rules_dir) + (table_files(rules_dir) if tables else [])
    paths = []
    for arg in args:
        path = Path(arg)
        if path.is_file():
            paths.append(path)
            continue
        candidates = rule_files(rules_dir) + (table_files(rules_dir) if tables else [])
        matches = [p for p in candidates if p.stem == arg]
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
        paths = resolve_rule_paths(args, rules_dir, tables=True)
        if not paths:
            raise UsageError(f"no rule files in {rules_dir}", print_help=False)
        item_types, type_problems = load_item_types(rules_dir)
        for problem in type_problems:
            print(problem)
        bad_types = len({p.file for p in type_problems})
        # Rules of RULES_DIR compile against the item types just read; a file elsewhere, against
        # the types beside it.
        in_dir = replace(context, item_types=item_types)
        home = {Path(rules_dir).resolve(), (Path(rules_dir) / TABLES_DIR).resolve()}
        files = Tally()
        rows = Tally()
        for path in paths:
            here = in_dir if path.parent.resolve() in home else context
            if (
                path.suffix == ".csv"
                or path.parent.resolve() == (Path(rules_dir) / TABLES_DIR).resolve()
            ):
                rows.add_table(path, here)
            else:
                files.add_file(path, here)
        chain_check(load_rules(rules_dir, in_dir), {p.resolve() for p in paths}, files, rows)
        if not opts.quiet:
            if files.seen or not rows.seen:
                print(files.summary("rule file(s)"))
            if rows.seen or rows.bad:
                print(rows.summary("site table row(s)"))
            if bad_types:
                print(f"{bad_types} item type file(s) with {len(type_problems)} problem(s)")
        failed = (
            files.bad or rows.bad or bad_types or (opts.strict and (files.warned or rows.warned))
        )
        self.exitcode = 1 if failed else 0


def chain_check(ruleset: Ruleset, checked: set[Path], files: Tally, rows: Tally) -> None:
    """Print the chain problems (crawler/rules/chains.py) of the rules checked; each rule with
    some counts as one with problems (a rule file's, or a table row's)."""
    for problems in ruleset.broken.values():
        mine = [p for p in problems if p in ruleset.chains and Path(p.file).resolve() in checked]
        if not mine:
            continue
        tally = rows if Path(mine[0].file).parent.name == TABLES_DIR else files
        tally.bad += 1
        tally.problems += len(mine)
        for problem in mine:
            print(problem)


class Tally:
    """Rules (files, or site-table rows) checked: how many, how many with problems or warnings;
    each problem printed as it is found."""

    def __init__(self) -> None:
        self.seen = self.bad = self.warned = self.problems = 0

    def summary(self, what: str) -> str:
        ok = self.seen - self.bad
        return f"{self.seen} {what}: {ok} ok, {self.bad} with {self.problems} problem(s)"

    def _rule(self, rule: Rule) -> None:
        self.seen += 1
        for warning in rule.warnings:
            print(warning)
        self.warned += bool(rule.warnings)

    def add_file(self, path: Path, context: CompileContext) -> None:
        try:
            self._rule(load_rule(path, context))
        except RuleError as exc:
            self.seen += 1
            self.bad += 1
            self.problems += len(exc.errors)
            for problem in exc.problems:
                print(problem)

    def add_table(self, path: Path, context: CompileContext) -> None:
        try:
            table = load_table(path, context)
        except RuleError as exc:  # not a table at all
            self.bad += 1
            self.problems += len(exc.errors)
            for problem in exc.problems:
                print(problem)
            return
        for problem in table.problems:
            print(problem)
        self.problems += sum(p.is_error for p in table.problems)
        for rule in table.rules:
            self._rule(rule)
        broken_lines = {p.line for ps in table.broken.values() for p in ps}
        others = {p.line for p in table.problems if p.is_error} - broken_lines
        self.seen += len(table.broken) + len(others)
        self.bad += len(table.broken) + len(others)
