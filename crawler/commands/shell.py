"""``scrapy shell``, as ``scrapy parse`` and ``scrapy preview`` run: it stores nothing, records
no run, keeps no log file, journal or seen-URL state, and stays on this machine (the rule
spider whose domains and pages match the URL is picked by the spider loader)."""

from __future__ import annotations

import argparse

from scrapy.commands.shell import Command as ScrapyShellCommand

from crawler.commands.preview import PREVIEW_SETTINGS


class Command(ScrapyShellCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        # The URL the person at this terminal named is theirs to reach, a loopback one too.
        trusted = [*self.settings.getlist("CRAWL_PRIVATE_ORIGINS"), *args[:1]]
        self.settings.set("CRAWL_PRIVATE_ORIGINS", trusted, priority="cmdline")
        for name, value in PREVIEW_SETTINGS.items():
            self.settings.set(name, value, priority="cmdline")
