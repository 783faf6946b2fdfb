"""``scrapy rules repair RULE [-a NAME=VALUE ...] [--write]``: fetch the pages of the rule's
fixtures again, find the fields that no longer give the values the fixtures keep, and propose
selectors that give them on every page (crawler/spider/repair.py), shown as a diff of the rule.
``--write`` saves the change (a new version in the rule's history, author and message given).

Exit status: 0 when every broken field has a proposal (or none is broken), 1 when one has none
or a page could not be fetched, 2 for a usage error, 3 when the rule has problems.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any

from scrapy.exceptions import UsageError

from crawler.commands.fetching import fetch_pages
from crawler.core.exitcodes import EXIT_CODES
from crawler.rules import RuleError
from crawler.rules.compiler import compile_rule, load_rule
from crawler.rules.files import read_text
from crawler.spider.fixtures import fixtures_dir


def repair_command(settings: Any, args: list[str], opts: Any, context: Any) -> int:
    from crawler.spider.repair import Sample, apply, repairs

    if len(args) != 1:
        raise UsageError(
            "use: scrapy rules repair RULE [-a NAME=VALUE ...] [--write]", print_help=False
        )
    name = args[0]
    rules_dir = Path(settings.get("RULES_DIR"))
    path = rules_dir / f"{name}.yaml"
    try:
        rule = load_rule(path, context)
    except (OSError, RuleError) as exc:
        print(f"error: cannot load rule {name} from {path}: {exc}", file=sys.stderr)
        return EXIT_CODES["rule_error"]
    given = dict(pair.split("=", 1) for pair in opts.arg if "=" in pair)
    base = str(given.get("site") or rule.args.get("site") or "").rstrip("/")
    records = []
    for fixture in sorted(fixtures_dir(rules_dir, name).glob("*.json")):
        record = json.loads(fixture.read_text(encoding="utf-8"))
        items = record.get("expected", {}).get("items") or []
        if len(items) == 1 and record.get("page") in rule.pages:  # one item: a detail page
            records.append(record)
    if not records:
        print(f"error: {name} has no fixture of a detail page to repair from", file=sys.stderr)
        return 1
    if "{base}" in records[0]["url"] and not base:
        raise UsageError("the fixtures need the site: give -a site=URL", print_help=False)
    urls = [record["url"].replace("{base}", base) for record in records]
    fetched, error = fetch_pages(settings, urls[0], lambda _: urls[1:])
    samples = []
    for url, record in zip(urls, records, strict=True):
        response = fetched.get(url)
        if response is None or not hasattr(response, "text"):
            print(f"error: could not fetch {url} again: {error}", file=sys.stderr)
            return 1
        expected = {
            k: v for k, v in record["expected"]["items"][0].items() if not k.startswith("_")
        }
        expected = json.loads(json.dumps(expected).replace("{base}", base))
        samples.append(Sample(response, expected, record["page"], record.get("carry") or {}))
    found = repairs(rule, samples)
    if not found:
        print(f"{name}: every field gives its fixtures' values on the {len(samples)} page(s)")
        return 0
    text = read_text(path)
    new_text, missing = text, 0
    for repair in found:
        where = f"pages.{repair.page}.fields.{repair.field}"
        if not repair.proposals:
            missing += 1
            print(f"{where}: {repair.was!r} now gives {repair.seen}; no selector found")
            continue
        best = repair.proposals[0]
        others = "; ".join(f"{k} {e}" for k, e in repair.proposals[1:])
        print(f"{where}: {repair.was!r} now gives {repair.seen}; proposed {best[0]} {best[1]!r}")
        if others:
            print(f"  also giving it on every page: {others}")
        changed = apply(new_text, repair.page, repair.field, best)
        if changed is None:
            print(f"  (not written on one line of {path.name}: change it by hand)")
        else:
            new_text = changed
    if new_text != text:
        sys.stdout.writelines(
            difflib.unified_diff(
                text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                f"{path.name} (now)",
                f"{path.name} (repaired)",
            )
        )
        if opts.write:
            saved = save_repair(settings, name, path, new_text, opts, context)
            if saved is None:
                return EXIT_CODES["rule_error"]
            print(f"{name}: repaired, saved as version {saved}")
        else:
            print("(not written: run again with --write to save it)")
    return 1 if missing else 0


def save_repair(
    settings: Any, name: str, path: Path, text: str, opts: Any, context: Any
) -> int | None:
    from crawler.rules.history import RuleHistory

    try:
        rule = compile_rule(text, filename=str(path), file=path, context=context)
    except RuleError as exc:  # a proposal the compiler refuses is our bug: write nothing
        print(f"error: the repaired rule does not validate:\n{exc}", file=sys.stderr)
        return None
    before = load_rule(path, context).version
    history = RuleHistory(
        Path(settings.get("RULE_HISTORY_DIR")), keep=settings.getint("RULE_HISTORY_KEEP")
    )
    author = opts.author or os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"
    message = opts.message or "scrapy rules repair: selectors found again from the fixtures"
    saved = history.save(
        name, path, text, author=author, message=message, version=rule.version, before=before
    )
    return saved.id
