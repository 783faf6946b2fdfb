"""``-a NAME=VALUE`` rule arguments for commands other than ``crawl`` (preview, seed), and
finding the rule a command names."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scrapy.exceptions import UsageError
from scrapy.utils.conf import arglist_to_dict

from crawler.core.exitcodes import EXIT_CODES
from crawler.rules.problems import did_you_mean
from crawler.spider.loader import broken_names


def named_rule(ruleset: Any, name: str, rules_dir: Any) -> Any:
    """The rule ``name`` of ``ruleset``; when it is broken, its problems printed and the
    ``rule_error`` exit code returned; a usage error when there is no such rule."""
    rule = ruleset.rules.get(name)
    if rule is not None:
        return rule
    files = broken_names(ruleset.errors, rules_dir).get(name, set())
    problems = ruleset.broken.get(name) or [p for p in ruleset.errors if p.file in files]
    if problems:
        print(f"error: rule {name!r} has problems:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CODES["rule_error"]
    raise UsageError(f"no rule named {name!r}{did_you_mean(name, ruleset.rules)}", print_help=False)


class RuleArgumentsMixin:
    """Adds ``-a`` to a ScrapyCommand and parses it into ``opts.spargs`` (a dict)."""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-a",
            dest="spargs",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="rule argument, as for scrapy crawl (may be repeated)",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        try:
            opts.spargs = arglist_to_dict(opts.spargs)
        except ValueError:
            raise UsageError("invalid -a value, use -a NAME=VALUE", print_help=False) from None
