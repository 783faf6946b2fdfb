"""``scrapy push replay [--delete]``: deliver the batches the push sinks kept aside after a
failure (``PUSH_DIR/<sink>/failed-*.jsonl``), to the sinks of ``PUSH_SINKS`` (or ``--sink``).
Receivers tell repeats by the idempotency key of each item version."""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.push.extension import build_sinks
from crawler.push.redelivery import failed_files, replay_file


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "replay [--sink NAME ...] [--delete]"

    def short_desc(self) -> str:
        return "Deliver again the pushed items kept aside after a failure"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--sink", action="append", help="sink name (default: PUSH_SINKS)")
        parser.add_argument("--delete", action="store_true", help="delete replayed files")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args != ["replay"]:
            raise UsageError("say: scrapy push replay", print_help=True)
        if opts.sink:
            self.settings.set("PUSH_SINKS", opts.sink, priority="cmdline")
        sinks = build_sinks(self.settings)
        if not sinks:
            raise UsageError("no usable push sink (PUSH_SINKS, --sink)", print_help=False)
        directory = Path(self.settings.get("PUSH_DIR"))
        failed = 0
        for sink in sinks:
            for path in failed_files(directory, sink.name):
                result = replay_file(
                    path, sink, self.settings.getint("PUSH_BATCH_SIZE"), opts.delete
                )
                print(f"{path}: {result.delivered} item(s) delivered to {sink.name}")
                if result.error or result.bad_lines:
                    failed += 1
                    why = result.error or f"unreadable lines {result.bad_lines[:10]}"
                    print(f"  not done: {why}")
            sink.close()
        self.exitcode = 1 if failed else 0
