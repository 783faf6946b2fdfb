"""What ``scrapy rules backfill`` prints: a summary for people, or every item's diff as JSON."""

from __future__ import annotations

from typing import Any

from crawler.archive.backfill import BackfillReport

EXAMPLE_CHARS = 60


def short(value: Any) -> str:
    """A value for one line of the summary.

    >>> short("x" * 100)[-5:], short(None)
    ('xx...', 'None')
    """
    text = repr(value)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 3] + "..."


def summary_lines(report: BackfillReport) -> list[str]:
    dry = report.dry_run
    run = "dry run" if dry else f"run {report.run_id}"
    since = f" fetched in the last {_duration(report.since)}" if report.since is not None else ""
    limit = f" (at most {report.limit})" if report.limit is not None else ""
    lines = [
        f"backfill {report.rule} ({run}, rule version {report.version}): "
        f"read {report.pages} of {report.archived} archived page(s){since}{limit}"
    ]
    verbs = ("would update", "would add") if dry else ("updated", "added")
    lines.append(
        f"items: {report.items}; unchanged {report.unchanged}, {verbs[0]} {report.updated}, "
        f"{verbs[1]} {report.added}, invalid {report.invalid} (dead letters)"
    )
    if report.no_page_type or report.unreadable:
        lines.append(
            f"pages of no page type now: {report.no_page_type}; unreadable: {report.unreadable}"
        )
    if report.problems:
        found = ", ".join(f"{k} {v}" for k, v in sorted(report.problems.items()))
        lines.append(f"problems on the pages: {found}")
    for name, changes in sorted(report.fields.items(), key=lambda kv: (-kv[1].items, kv[0])):
        lines.append(f"  {name}: {changes.items} item(s) {'would change' if dry else 'changed'}")
        for example in changes.examples:
            old = short(example["old"]) if "old" in example else "(absent)"
            new = short(example["new"]) if "new" in example else "(absent)"
            lines.append(f"    {example['key']}: {old} -> {new}")
    if dry:
        lines.append("nothing written (dry run)")
    elif report.written is not None:
        w = report.written
        lines.append(
            f"written: {w['new']} new, {w['updated']} updated, {w['unchanged']} unchanged, "
            f"{w['dead']} dead letter(s); run record {report.run_id} (kind backfill)"
        )
    return lines


def report_json(report: BackfillReport) -> dict[str, Any]:
    return {
        "rule": report.rule,
        "rule_version": report.version,
        "archive": report.archive,
        "dry_run": report.dry_run,
        "run_id": report.run_id,
        "since_seconds": report.since,
        "limit": report.limit,
        "archived": report.archived,
        "pages": report.pages,
        "unreadable": report.unreadable,
        "no_page_type": report.no_page_type,
        "pages_by_type": report.pages_by_type,
        "problems": report.problems,
        "items": report.items,
        "unchanged": report.unchanged,
        "updated": report.updated,
        "added": report.added,
        "invalid": report.invalid,
        "fields": {
            name: {"items": c.items, "examples": c.examples} for name, c in report.fields.items()
        },
        "diffs": report.diffs,
        "written": report.written,
        "error": report.error,
    }


def _duration(seconds: float | None) -> str:
    """
    >>> _duration(30 * 86400), _duration(5400)
    ('30d', '1.5h')
    """
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds >= size and (seconds / size) * 10 % 1 == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
