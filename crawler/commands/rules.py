"""``scrapy rules test [RULE...] [--update]``: re-run rules on their stored pages, offline, and
report every value that changed (exit 0 all the same, 1 changed or nothing tested, a named rule
without fixtures included, 3 a rule with problems); ``scrapy rules list``: rules with their page types and fixtures;
``scrapy rules new NAME URL``: fetch a page and write a first rule for its site;
``scrapy rules backfill NAME``: run the rule on its archived pages (crawler/commands/backfill.py)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.fetching import fetch_pages
from crawler.core.exitcodes import EXIT_CODES
from crawler.rules import RuleError, compile_rule, load_rule, load_rules
from crawler.rules.compiler import effective_data
from crawler.rules.request_specs import url_problem
from crawler.spider.extract import CompiledRule
from crawler.spider.fixtures import fixtures_dir, run_fixture
from crawler.spider.project import compile_context
from crawler.spider.scaffold import detail_links, draft_list, rule_yaml

from .ruleargs import named_rule
from .validate import resolve_rule_paths


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return (
            "test|list [RULE...] [--update] | new NAME URL [SAMPLE_URL...] | show NAME | "
            "repair NAME [-a site=URL] [--write] | history NAME | diff NAME A [B] | "
            "restore NAME VERSION [-m MESSAGE] | backfill NAME [--since 30d] [--dry-run] "
            "[--limit N] [--json]"
        )

    def short_desc(self) -> str:
        return (
            "Test rules on their fixture pages (test), list them (list), start one (new), "
            "print one with its templates merged (show), its versions (history, diff, restore), "
            "run it again on its archived pages (backfill)"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--update", action="store_true", help="accept the new output as expected"
        )
        parser.add_argument("-m", "--message", default="", help="restore: why, for the history")
        parser.add_argument(
            "--author",
            default="",
            help="restore, repair: who (default: the user running the command)",
        )
        parser.add_argument(
            "-a", dest="arg", action="append", default=[], metavar="NAME=VALUE",
            help="repair, backfill: a rule argument (repair: the site the fixtures' pages are "
            "fetched from)",
        )  # fmt: skip
        parser.add_argument("--write", action="store_true", help="repair: save the change")
        parser.add_argument(
            "--since", metavar="AGE", help="backfill: pages fetched this recently (30d)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="backfill: say what would change, write nothing"
        )
        parser.add_argument("--limit", type=int, metavar="N", help="backfill: at most N pages")
        parser.add_argument("--json", action="store_true", help="backfill: every item's diff")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        context = compile_context(self.settings)
        if args and args[0] == "new":
            self.exitcode = new_rule(self.settings, args[1:], context)
            return
        if args and args[0] == "show":
            self.exitcode = show_rule(self.settings, args[1:], context)
            return
        if args and args[0] == "repair":
            from crawler.commands.repair import repair_command

            self.exitcode = repair_command(self.settings, args[1:], opts, context)
            return
        if args and args[0] == "backfill":
            from crawler.commands.backfill import backfill_command

            self.exitcode = backfill_command(self.settings, args[1:], opts)
            return
        if args and args[0] in ("history", "diff", "restore"):
            self.exitcode = history_command(self.settings, args, opts, context)
            return
        if not args or args[0] not in ("test", "list"):
            raise UsageError(
                "use: scrapy rules test [RULE...], scrapy rules list, scrapy rules new NAME URL "
                "or scrapy rules show NAME",
                print_help=False,
            )
        rules_dir = self.settings.get("RULES_DIR")
        paths = resolve_rule_paths(args[1:], rules_dir)
        tested = changed = broken_rules = 0
        untested: list[str] = []
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
            if not fixtures:
                untested.append(rule.name)
                print(
                    f"FAIL {rule.name}: no fixtures for {rule.name} (save one with: scrapy "
                    f"preview {rule.name} URL --save)"
                    if args[1:]
                    else f"skip {rule.name}: no fixtures"
                )
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
            summary += f"; {broken_rules} rule(s) with problems" if broken_rules else ""
            summary += f"; {len(untested)} rule(s) without fixtures" if untested else ""
            print(summary)
        # A rule named on the command line must be tested; a run that tests nothing fails.
        nothing = args[0] == "test" and (bool(args[1:]) and bool(untested) or tested == 0)
        if broken_rules:
            self.exitcode = EXIT_CODES["rule_error"]
        elif (changed and not opts.update) or nothing:
            self.exitcode = 1
        else:
            self.exitcode = 0


def history_command(settings: Any, args: list[str], opts: Any, context: Any) -> int:
    """``history NAME``: the versions, newest first; ``diff NAME A [B]``: version A against
    B, or against the file now; ``restore NAME VERSION``: that text saved again, checked first,
    as a new version."""
    # imported here: Scrapy imports every command module for any command, a crawl included
    from crawler.rules.history import HistoryError, RuleHistory
    from crawler.service.rulefiles import rule_path

    history = RuleHistory(
        Path(settings.get("RULE_HISTORY_DIR")), keep=settings.getint("RULE_HISTORY_KEEP")
    )
    verb, rest = args[0], args[1:]
    wanted = {"history": (1, 1), "diff": (2, 3), "restore": (2, 2)}[verb]
    usage = {"history": "NAME", "diff": "NAME A [B]", "restore": "NAME VERSION [-m MESSAGE]"}
    if not wanted[0] <= len(rest) <= wanted[1] or not all(a.isdigit() for a in rest[1:]):
        raise UsageError(f"use: scrapy rules {verb} {usage[verb]}", print_help=False)
    name, numbers = rest[0], [int(a) for a in rest[1:]]
    try:
        path = rule_path(Path(settings.get("RULES_DIR")), name)
        if verb == "history":
            versions = history.entries(name)
            if not versions:
                print(f"{name}: no versions recorded yet (saves through the dashboard or "
                      "scrapy rules restore are)")  # fmt: skip
            for v in versions:
                note = f"  {v.message}" if v.message else ""
                print(f"{v.id:>4}  {v.at}  {v.version or '-':<12}  {v.author}{note}")
            return 0
        if verb == "diff":
            current = path.read_text(encoding="utf-8") if path.is_file() else ""
            b = numbers[1] if len(numbers) > 1 else None
            sys.stdout.writelines(history.diff(name, numbers[0], b, current))
            return 0
        text = history.text(name, numbers[0])
        rule = compile_rule(text, filename=str(path), file=path, context=context)
        before = ""
        if path.is_file() and history.latest(name) is None:
            try:
                before = load_rule(path, context).version
            except RuleError:
                before = ""
        author = opts.author or os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"
        message = opts.message or f"restore version {numbers[0]}"
        saved = history.save(
            name, path, text, author=author, message=message, version=rule.version, before=before
        )
        print(f"{name}: version {numbers[0]} restored as version {saved.id}")
        return 0
    except RuleError as exc:
        print(f"error: version {numbers[0]} of {name} has problems now:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CODES["rule_error"]
    except (HistoryError, ValueError) as exc:
        raise UsageError(str(exc), print_help=False) from None


def show_rule(settings: Any, args: list[str], context: Any) -> int:
    """Print the rule ``NAME`` as the crawl sees it: its templates merged, a table row's start
    URLs filled in; a comment first says what it was made from."""
    if len(args) != 1:
        raise UsageError("use: scrapy rules show NAME", print_help=False)
    name = args[0]
    ruleset = load_rules(settings.get("RULES_DIR"), context)
    rule = named_rule(ruleset, name, settings.get("RULES_DIR"))
    if isinstance(rule, int):
        return rule
    where = f"{rule.path}:{rule.row}" if rule.row else str(rule.path)
    chain = " <- ".join(str(p) for p in reversed(rule.inherits))
    print(f"# {name}: {where}" + (f" <- {chain}" if chain else ""))
    data = effective_data(rule)
    data = {"name": rule.name, **{k: v for k, v in data.items() if k != "name"}}
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), end="")
    return 0


def new_rule(settings: Any, args: list[str], context: Any) -> int:
    """Fetch ``URL`` (and a few detail pages it leads to, or the ``SAMPLE_URL``s given) through
    the project's middlewares, write ``RULES_DIR/NAME.yaml``, try it on the samples and keep
    them as its fixtures; print what was decided and why."""
    if len(args) < 2:
        raise UsageError("use: scrapy rules new NAME URL [SAMPLE_URL ...]", print_help=False)
    name, url, *given = args
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise UsageError(
            f"{name!r} cannot name a rule: use letters, digits, _ and -", print_help=False
        )
    for each in (url, *given):
        problem = url_problem(each)
        if problem:
            raise UsageError(f"cannot fetch {each!r}: {problem}", print_help=False)
    path = Path(settings.get("RULES_DIR")) / f"{name}.yaml"
    if path.exists():
        raise UsageError(f"{path} exists already: pick another name", print_help=False)

    read: dict[str, Any] = {}  # the list page read once: the samples and the draft both need it

    def samples_of(response: Any) -> list[str]:
        read["guess"] = draft_list(response.url, getattr(response, "text", ""))
        read["asked"] = list(given) or detail_links(read["guess"])
        return read["asked"]

    pages, error = fetch_pages(settings, url, samples_of)
    response = pages.pop(url, None)
    if response is None or "guess" not in read:
        print(f"error: could not fetch {url}: {error}", file=sys.stderr)
        return 1
    samples = [r for r in pages.values() if hasattr(r, "text")]
    guess, asked = read["guess"], read["asked"]
    text, decisions = rule_yaml(name, response.url, guess, [r.text for r in samples])
    try:
        rule = compile_rule(text, filename=str(path), file=path, context=context)
    except RuleError as exc:  # a guess the compiler refuses is our bug: say so, write nothing
        print(f"error: the rule guessed for {url} does not validate:\n{exc}", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    for line in decisions:
        print(f"  {line}")
    if asked and not samples:
        print(
            f"warning: none of the {len(asked)} detail page(s) sampled could be fetched "
            f"({error}): the links chosen may not be the site's posts",
            file=sys.stderr,
        )
    compiled = CompiledRule(rule)
    for sample in samples:
        print(f"  sample {sample.url}: {try_sample(settings, compiled, sample)}")
    print(f"next: scrapy crawl {name}   (scrapy rules test {name} checks the samples kept)")
    return 0


def try_sample(settings: Any, compiled: Any, response: Any) -> str:
    """The draft (compiled) on one sampled detail page, kept as a fixture: what it gave."""
    from datetime import UTC, datetime

    from crawler.spider.fixtures import save_fixture

    rule = compiled.rule
    page = compiled.guess_page(response.url)
    if page is None:
        return "no page type of the draft matches it"
    now = datetime.now(UTC)
    result = compiled.extract(page, response, now=now)
    path = save_fixture(
        settings.get("RULES_DIR"), rule, page=page, response=response, result=result,
        args=dict(compiled.args), carry={}, crawl_time=now,
    )  # fmt: skip
    filled = sorted(k for item in result.items for k, v in item.items() if v and k[0] != "_")
    problems = "; ".join(f"{reason}: {message}" for reason, message in result.problems)
    title = next((i.get("title") or i.get("name") for i in result.items), None)
    return (
        f"page type {page}, {len(result.items)} item(s), fields {', '.join(filled) or 'none'}"
        f"{f', title {title!r}' if title else ''}{f'; problems: {problems}' if problems else ''}"
        f" (fixture {path.name})"
    )
