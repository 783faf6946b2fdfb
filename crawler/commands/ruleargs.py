"""``-a NAME=VALUE`` rule arguments for commands other than ``crawl`` (preview, seed)."""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError
from scrapy.utils.conf import arglist_to_dict


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
