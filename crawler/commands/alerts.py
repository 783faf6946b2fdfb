"""``scrapy alerts <status|flush|test>``: the alert desk from the command line (docs/monitoring.md).

    scrapy alerts status          # channels (ready or what is missing), routes, failing checks,
                                  # alerts held for a digest
    scrapy alerts flush           # send the digests due (the data service does it every minute)
    scrapy alerts test CHANNEL    # a test message on a channel

A broken channel or route configuration is one line, exit 1; a test that no channel took, exit 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.monitors import AlertDesk, ChannelError

ACTIONS = ("status", "flush", "test")


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "<status|flush|test CHANNEL>"

    def short_desc(self) -> str:
        return "Alert channels, routes, failing checks and digests: status, flush, test"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"say what to do: {', '.join(ACTIONS)}", print_help=False)
        action, rest = args[0], args[1:]
        if action == "test" and len(rest) != 1:
            raise UsageError("scrapy alerts test CHANNEL", print_help=False)
        if action != "test" and rest:
            raise UsageError(f"scrapy alerts {action} takes no argument", print_help=False)
        try:
            desk = AlertDesk(self.settings)
        except ChannelError as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        getattr(self, f"_{action}")(desk, *rest)

    def _status(self, desk: AlertDesk) -> None:
        config = desk.config
        print("channels:")
        for name, channel in sorted(config.channels.items()):
            problem = config.problem(name)
            quiet = config.quiet_hours(name)
            print(f"  {name:<16} {channel.type:<9} {'ready' if problem is None else problem}"
                  + (f"  quiet {quiet}" if quiet else ""))  # fmt: skip
        print(f"default: {', '.join(self.settings.getlist('MONITORS_ALERTS')) or '(none)'}")
        print("routes:" if config.routes else "routes: (none)")
        for route in config.routes:
            match = ", ".join(f"{k}={v}" for k, v in route.match.items())
            print(f"  {match} -> {', '.join(route.to)}")
        failing: list[dict[str, Any]] = desk.failing()
        print("failing:" if failing else "failing: (none)")
        for row in failing:
            print(f"  {row['subject']:<24} {row['check']:<16} since {_when(row['failing_since'])}"
                  f"  {row['message']}")  # fmt: skip
        held = desk.held()
        print("held for a digest: " + (", ".join(f"{c} {n}" for c, n in held.items()) or "(none)"))

    def _flush(self, desk: AlertDesk) -> None:
        held = desk.held()
        sent = desk.flush()
        left = desk.held()
        print(f"digests sent: {', '.join(sent) or '(none)'}; still held: "
              + (", ".join(f"{c} {n}" for c, n in left.items()) or "(none)"))  # fmt: skip
        if held and not sent and any(not desk.quiet(c) for c in left):
            self.exitcode = 1  # due but not delivered (the reason is logged)

    def _test(self, desk: AlertDesk, channel: str) -> None:
        if channel not in desk.config.channels:
            print(f"error: no alert channel named {channel!r}", file=sys.stderr)
            self.exitcode = 1
            return
        outcome = desk.send([channel], {"event": "test"}, "[crawler] test alert",
                            ["sent by `scrapy alerts test`"])  # fmt: skip
        if outcome.sent:
            print(f"sent on {channel}")
        elif outcome.held:
            print(f"held on {channel}: its quiet hours ({desk.config.quiet_hours(channel)})")
        else:
            print(f"error: {channel} did not take the test alert (see the log line above)",
                  file=sys.stderr)  # fmt: skip
            self.exitcode = 1
