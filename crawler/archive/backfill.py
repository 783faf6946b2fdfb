"""Backfill: the rule as it is now, run on the pages its crawls archived, compared with (and,
unless it is a dry run, written to) the store.

Each archived page (fetched within ``since``, oldest first, at most ``limit``) is parsed again
(crawler/archive/replay.py); each item it gives is looked up in the store by its key and
compared field by field. Only content fields count, as for the store's own content hash:
``_`` fields (``_crawled_at``, ``_rule_version``, ``_first_seen``, ``_updated_at``, ``_hash``,
``_url``...) are bookkeeping. An item is *unchanged* when its content hash is the stored one,
*updated* when it differs, *added* when its key is not stored, *invalid* when it is a dead
letter (invalid against its item type, or without its key).

The dry run and the real run take the same path and differ only in writing: a real run writes
each item through the store's upsert in batches (so a collection with history keeps the
version it replaces), marked ``_backfill: <run id>`` (``_rule_version`` is the current rule's,
set by extraction), invalid items to dead letters as a crawl does (unmarked, so that the
same dead letter is kept once), and a run record (``kind``
and ``trigger`` ``backfill``). An item whose key an earlier item of the same backfill took is
compared with that one, as the store's upsert would see it: both runs keep what this backfill
gave for each key in a temporary file, not in memory.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.archive.compare import SeenKeys, content_of, field_changes
from crawler.archive.replay import ReplayedItem, Replayer
from crawler.archive.sqlite_archive import (
    ArchiveError,
    archive_path,
    count_pages,
    open_archive,
    read_pages,
)
from crawler.core.switches import describe
from crawler.runs import build_run_record
from crawler.store import (
    DUPLICATE_OF_FIELD,
    Store,
    UpsertResult,
    content_hash,
    dumps,
    key_text,
    loads,
)

EXAMPLES = 3  # examples of each field's changes in the summary
MARK = "_backfill"


class BackfillError(Exception):
    """A backfill that cannot run or went wrong: one line for the user."""


@dataclass
class FieldChanges:
    items: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BackfillReport:
    rule: str
    version: str
    archive: str
    dry_run: bool
    run_id: str | None
    since: float | None  # seconds back
    limit: int | None
    archived: int = 0  # pages in the archive within since
    pages: int = 0  # pages read
    unreadable: int = 0
    no_page_type: int = 0
    pages_by_type: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)
    items: int = 0
    unchanged: int = 0
    updated: int = 0
    added: int = 0
    invalid: int = 0
    fields: dict[str, FieldChanges] = field(default_factory=dict)
    diffs: list[dict[str, Any]] | None = None  # every item's, when asked for
    written: dict[str, int] | None = None  # what the store did (a real run)
    error: str | None = None


class Backfill:
    def __init__(
        self,
        replayer: Replayer,
        store: Store,
        report: BackfillReport,
        batch_size: int = 500,
    ) -> None:
        self.replayer = replayer
        self.store = store
        self.report = report
        self.batch_size = max(1, batch_size)
        self.seen = SeenKeys()
        # items the store marked near-duplicates: the mark is kept on the versions written here
        self.duplicate_of: dict[str, Any] = {}
        self.pending: dict[tuple[str, tuple[str, ...], bool], list[dict[str, Any]]] = {}
        self.pending_dead: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
        self.upserted = UpsertResult()
        self.dead_written = 0

    # -- one page, one item ----------------------------------------------------------------

    def page(self, record: Any) -> None:
        report = self.report
        report.pages += 1
        if isinstance(record, ArchiveError):
            report.unreadable += 1
            return
        try:
            replayed = self.replayer.replay(record)
        except Exception as exc:  # a plugin extractor's failure: this page's, as in a crawl
            reason = f"spider_exceptions/{type(exc).__name__}"
            report.problems[reason] = report.problems.get(reason, 0) + 1
            return
        if replayed.page is None:
            report.no_page_type += 1
            return
        report.pages_by_type[replayed.page] = report.pages_by_type.get(replayed.page, 0) + 1
        for reason, _ in replayed.problems:
            report.problems[reason] = report.problems.get(reason, 0) + 1
        for item in replayed.items:
            self.item(item)

    def item(self, replayed: ReplayedItem) -> None:
        report = self.report
        report.items += 1
        item, target = replayed.item, replayed.target
        url = item.get("_url")
        if replayed.dead is not None:
            report.invalid += 1
            self._diff(target.collection, None, url, "invalid", reason=replayed.dead)
            if not report.dry_run:
                # unmarked: the same dead letter from the same page is kept once, however
                # many backfills meet it
                items, reasons = self.pending_dead.setdefault(target.collection, ([], []))
                items.append(item)
                reasons.append(replayed.dead)
            return
        key = key_text([item[name] for name in target.key])
        ident = f"{target.collection}\0{key}"
        digest = content_hash(item)
        new_json = dumps(content_of(item))
        new = loads(new_json)
        earlier = self.seen.get(ident)
        if earlier is not None:
            old_hash, old = earlier
        else:
            try:
                stored = self.store.get_item(target.collection, key)
            except Exception as exc:
                raise BackfillError(
                    f"the store failed reading {target.collection}: {describe(exc)}"
                ) from None
            old = content_of(stored) if stored is not None else None
            old_hash = (stored.get("_hash") or content_hash(stored)) if stored else None
            if stored is not None and stored.get(DUPLICATE_OF_FIELD):
                self.duplicate_of[ident] = stored[DUPLICATE_OF_FIELD]
        self.seen.put(ident, digest, new_json)
        if old is None:
            report.added += 1
            self._diff(target.collection, key, url, "add", {n: {"new": v} for n, v in new.items()})
        elif old_hash == digest:
            report.unchanged += 1
        else:
            report.updated += 1
            changes = field_changes(old, new)
            self._diff(target.collection, key, url, "update", changes)
            for name, change in changes.items():
                counted = report.fields.setdefault(name, FieldChanges())
                counted.items += 1
                if len(counted.examples) < EXAMPLES:
                    counted.examples.append({"key": key, **change})
        if not report.dry_run:
            batch = self.pending.setdefault((target.collection, target.key, target.history), [])
            written = {**item, MARK: report.run_id}
            if ident in self.duplicate_of:
                written[DUPLICATE_OF_FIELD] = self.duplicate_of[ident]
            batch.append(written)
            if len(batch) >= self.batch_size:
                self._write(target.collection, target.key, target.history)

    def _diff(
        self,
        collection: str,
        key: str | None,
        url: Any,
        status: str,
        changes: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        if self.report.diffs is None:
            return
        diff: dict[str, Any] = {"status": status, "collection": collection, "key": key}
        diff["url"] = url
        if changes is not None:
            diff["changes"] = changes
        if reason is not None:
            diff["reason"] = reason
        self.report.diffs.append(diff)

    # -- writing ---------------------------------------------------------------------------

    def _write(self, collection: str, key: tuple[str, ...], history: bool) -> None:
        items = self.pending.pop((collection, key, history), [])
        if items:
            try:
                result = self.store.upsert_many(collection, items, key, history=history)
            except Exception as exc:
                raise BackfillError(
                    f"the store failed writing {collection}: {describe(exc)}"
                ) from None
            self.upserted += result

    def flush(self) -> None:
        for collection, key, history in list(self.pending):
            self._write(collection, key, history)
        for collection, (items, reasons) in list(self.pending_dead.items()):
            try:
                self.store.dead_letter(collection, items, reasons)
            except Exception as exc:
                raise BackfillError(
                    f"the store failed writing dead letters: {describe(exc)}"
                ) from None
            self.dead_written += len(items)
        self.pending_dead.clear()

    def close(self) -> None:
        self.seen.close()


def backfill(
    rule: Any,
    item_types: Mapping[str, Any],
    settings: Any,
    store: Store,
    *,
    since: float | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    keep_diffs: bool = False,
    args: Mapping[str, Any] | None = None,
) -> BackfillReport:
    """Run ``rule`` on its archived pages against ``store`` (opened here, and closed). Raises
    BackfillError, in one line, when it cannot run (no archive, a store it cannot open or
    write); an error after writing began is in the report (``error``) and its run record."""
    path = archive_path(settings.get("ARCHIVE_DIR"), rule.name)
    try:
        conn = open_archive(path, rule.name, create=False)
    except ArchiveError as exc:
        if path.exists():
            raise BackfillError(f"cannot read the page archive of {rule.name}: {exc}") from None
        raise BackfillError(
            f"rule {rule.name} has no page archive ({path}): add `archive:` to the rule and "
            "crawl it first"
        ) from None
    report = BackfillReport(
        rule=rule.name,
        version=rule.version,
        archive=str(path),
        dry_run=dry_run,
        run_id=None if dry_run else uuid.uuid4().hex,
        since=since,
        limit=limit,
        diffs=[] if keep_diffs else None,
    )
    oldest = time.time() - since if since is not None else None
    try:
        report.archived = count_pages(conn, oldest)[0]
        try:
            store.open()
        except Exception as exc:
            raise BackfillError(
                f"cannot open the store {store.display_uri}: {describe(exc)}"
            ) from None
        try:
            _run(rule, item_types, settings, store, conn, report, oldest, args)
        finally:
            store.close()
    finally:
        conn.close()
    return report


def _run(
    rule: Any,
    item_types: Mapping[str, Any],
    settings: Any,
    store: Store,
    conn: sqlite3.Connection,
    report: BackfillReport,
    oldest: float | None,
    args: Mapping[str, Any] | None,
) -> None:
    started = datetime.now(UTC)
    if not report.dry_run:  # the store must take writes before anything is read
        try:
            store.record_run(run_record(report, store, started, None))
        except Exception as exc:
            raise BackfillError(
                f"cannot write to the store {store.display_uri}: {describe(exc)}"
            ) from None
    replayer = Replayer(rule, item_types, settings, args)
    job = Backfill(replayer, store, report, settings.getint("STORE_BATCH_SIZE"))
    try:
        for record in read_pages(conn, oldest, report.limit):
            job.page(record)
        if not report.dry_run:
            job.flush()
    except BackfillError as exc:
        report.error = str(exc)
    except sqlite3.Error as exc:
        report.error = f"cannot read the page archive {report.archive}: {describe(exc)}"
    finally:
        job.close()
    if report.dry_run:
        return
    up = job.upserted
    report.written = {
        "new": up.new,
        "updated": up.updated,
        "unchanged": up.unchanged,
        "dead": job.dead_written,
    }
    try:
        store.record_run(run_record(report, store, started, datetime.now(UTC)))
    except Exception as exc:
        report.error = report.error or f"cannot record the run: {describe(exc)}"


def run_record(
    report: BackfillReport, store: Store, started: datetime, finished: datetime | None
) -> dict[str, Any]:
    """The backfill's run record: the shape of a crawl's (crawler/runs), with ``kind`` and
    ``trigger`` ``backfill`` and its own counters."""
    written = report.written or {}
    stats: dict[str, Any] = {
        "run/id": report.run_id,
        "start_time": started,
        "response_received_count": report.pages,
        "item_scraped_count": report.items,
        "store/items/new": written.get("new", 0),
        "store/items/updated": written.get("updated", 0),
        "store/items/unchanged": written.get("unchanged", 0),
        "store/items/dead": written.get("dead", 0),
        "backfill/unreadable": report.unreadable,
        "backfill/no_page_type": report.no_page_type,
        **{f"rule/pages/{page}": n for page, n in report.pages_by_type.items()},
        **{f"rule/problems/{reason}": n for reason, n in report.problems.items()},
    }
    reason = None
    if finished is not None:
        stats["finish_time"] = finished
        reason = "backfill_failed" if report.error else "finished"
    record = build_run_record(report.rule, stats, reason, store.uri, run_id=report.run_id)
    if report.error:
        record["status_reason"] = report.error
    record.update(
        kind="backfill",
        trigger="backfill",
        backfill={
            "rule_version": report.version,
            "archive": str(Path(report.archive).name),
            "since_seconds": report.since,
            "limit": report.limit,
            "unchanged": report.unchanged,
            "updated": report.updated,
            "added": report.added,
            "invalid": report.invalid,
            "fields": {name: c.items for name, c in report.fields.items()},
        },
    )
    return record
