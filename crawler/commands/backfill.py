"""``scrapy rules backfill RULE [--since 30d] [--dry-run] [--limit N] [--json] [-a NAME=VALUE]``:
run the rule as it is now on the pages its crawls archived (its ``archive:`` section), and
write the items that changed through the store's upsert (crawler/archive/backfill.py).
``--dry-run`` writes nothing and says what would change; ``--json`` prints every item's diff.
``-a`` gives the rule's arguments as the crawl had them (secret ones are masked in items).

Exit status: 0 done; 1 no archive, a store that cannot be opened or written, or a write that
failed (one line on stderr); 2 a bad command line or an unknown rule; 3 the rule has problems.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from scrapy.exceptions import UsageError

from crawler.archive import BackfillError, backfill, report_json, summary_lines
from crawler.commands.ruleargs import named_rule
from crawler.rules.compile_context import parse_duration
from crawler.spider.project import project_rules
from crawler.store import open_store

USAGE = "use: scrapy rules backfill RULE [--since 30d] [--dry-run] [--limit N] [--json]"


def backfill_command(settings: Any, args: list[str], opts: Any) -> int:
    if len(args) != 1:
        raise UsageError(USAGE, print_help=False)
    since = None
    if opts.since:
        try:
            since = parse_duration(opts.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}", print_help=False) from None
    if opts.limit is not None and opts.limit < 1:
        raise UsageError("--limit: at least 1 page", print_help=False)
    given = {}
    for pair in opts.arg:
        if "=" not in pair:
            raise UsageError("invalid -a value, use -a NAME=VALUE", print_help=False)
        name, value = pair.split("=", 1)
        given[name] = value
    name = args[0]
    ruleset = project_rules(settings)
    rule = named_rule(ruleset, name, settings.get("RULES_DIR"))
    if isinstance(rule, int):
        return rule
    uri = settings.get("STORE_URI") or ""
    if not uri:
        print("error: STORE_URI is empty: there is no store to backfill", file=sys.stderr)
        return 1
    try:
        store = open_store(uri, settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        report = backfill(
            rule,
            ruleset.item_types,
            settings,
            store,
            since=since,
            limit=opts.limit,
            dry_run=opts.dry_run,
            keep_diffs=opts.json,
            args=given,
        )
    except BackfillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if opts.json:
        print(json.dumps(report_json(report), ensure_ascii=False, default=str))
    else:
        print("\n".join(summary_lines(report)))
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
        return 1
    return 0
