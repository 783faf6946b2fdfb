"""Spill files: the JSONL format items fall back to when the store fails, and their replay.

One line per item, self-describing, so a file can be replayed into any store::

    {"collection": "books", "key": ["url"], "history": false, "item": {...}}
    {"collection": "books", "dead": true, "reason": "missing key field 'url'", "item": {...}}
    {"run": {...}}                       # a crawl-run record that could not be written

Replaying uses upsert semantics (dead letters and runs are idempotent too), so replaying a
file twice is harmless. The write-ahead journal (crawler/store/journal.py) uses the same lines,
numbered, and the same replay.

Spill files are written by :func:`append_lines`, which counts exactly: a batch the disk takes
only in part leaves the file ending at its last complete line, and says how many lines it holds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.store.base import Store, UpsertResult
from crawler.store.documents import dumps

REPLAYED_SUFFIX = ".replayed"


def item_record(
    collection: str, key: Sequence[str], history: bool, item: dict[str, Any]
) -> dict[str, Any]:
    return {"collection": collection, "key": list(key), "history": history, "item": item}


def dead_record(collection: str, reason: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"collection": collection, "dead": True, "reason": reason, "item": item}


def item_line(collection: str, key: Sequence[str], history: bool, item: dict[str, Any]) -> str:
    return dumps(item_record(collection, key, history, item)) + "\n"


def dead_line(collection: str, reason: str, item: dict[str, Any]) -> str:
    return dumps(dead_record(collection, reason, item)) + "\n"


class PartialWrite(OSError):
    """Only ``written`` of the lines reached the file (which ends at the last of them)."""

    def __init__(self, written: int, error: OSError) -> None:
        super().__init__(error.errno, f"{error.strerror or error} ({written} line(s) written)")
        self.written = written
        self.error = error


def append_lines(fd: int, lines: Sequence[str]) -> int:
    """Append ``lines`` to the file open at ``fd`` and fsync it; return how many were written.

    On a failure (disk full, file too large), the file is cut back to its last complete line and
    :class:`PartialWrite` says how many lines it holds; a failed fsync counts as none written.
    """
    start = pos = os.lseek(fd, 0, os.SEEK_END)
    written = 0
    try:
        for line in lines:
            data = line.encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            pos += len(data)
            written += 1
    except OSError as exc:
        _truncate(fd, pos)
        raise PartialWrite(written, exc) from None
    try:
        os.fsync(fd)
    except OSError as exc:
        _truncate(fd, start)
        raise PartialWrite(0, exc) from None
    return written


def _truncate(fd: int, size: int) -> None:
    with contextlib.suppress(OSError):  # nothing more can be done; replay reports a torn line
        os.ftruncate(fd, size)


def run_line(run: dict[str, Any]) -> str:
    return dumps({"run": run}) + "\n"


@dataclass
class ReplayResult:
    """What replaying one file did."""

    path: Path
    written: UpsertResult = field(default_factory=UpsertResult)
    dead: int = 0
    runs: int = 0
    bad_lines: list[int] = field(default_factory=list)

    @property
    def items(self) -> int:
        return self.written.new + self.written.updated + self.written.unchanged + self.dead

    @property
    def ok(self) -> bool:
        return not self.bad_lines


@dataclass
class _Group:
    collection: str
    key: tuple[str, ...]
    history: bool
    dead: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def parse_lines(lines: Iterable[str], result: ReplayResult) -> Iterator[dict[str, Any]]:
    """The records of spill or journal lines; unreadable lines are listed in ``bad_lines``."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            result.bad_lines.append(number)
            continue
        if not isinstance(record, dict) or not (
            isinstance(record.get("run"), dict)
            or (isinstance(record.get("collection"), str) and isinstance(record.get("item"), dict))
        ):
            result.bad_lines.append(number)
            continue
        yield record


def replay_file(store: Store, path: Path, batch_size: int = 500) -> ReplayResult:
    """Write every record of a spill file into ``store`` (already open), in batches.

    Items of one collection keep their order, so the last version of an item wins. Lines
    that cannot be parsed are listed in ``bad_lines`` (the rest is still written).
    """
    result = ReplayResult(path)
    with path.open(encoding="utf-8") as lines:
        replay_records(store, parse_lines(lines, result), result, batch_size)
    return result


def replay_records(
    store: Store, records: Iterable[dict[str, Any]], result: ReplayResult, batch_size: int = 500
) -> ReplayResult:
    """Write item, dead-letter and run records into ``store``, counting into ``result``."""
    groups: dict[tuple[str, tuple[str, ...], bool, bool], _Group] = {}

    def flush(group: _Group) -> None:
        if not group.items:
            return
        if group.dead:
            store.dead_letter(group.collection, group.items, group.reasons)
            result.dead += len(group.items)
        else:
            result.written += store.upsert_many(
                group.collection, group.items, group.key, history=group.history
            )
        group.items, group.reasons = [], []

    for record in records:
        if "run" in record:
            store.record_run(record["run"])
            result.runs += 1
            continue
        dead = bool(record.get("dead"))
        key = tuple(record.get("key") or ("url",))
        history = bool(record.get("history"))
        ident = (record["collection"], () if dead else key, False if dead else history, dead)
        group = groups.get(ident)
        if group is None:
            group = groups[ident] = _Group(*ident)
        group.items.append(record["item"])
        if dead:
            group.reasons.append(str(record.get("reason") or "dead letter"))
        if len(group.items) >= batch_size:
            flush(group)
    for group in groups.values():
        flush(group)
    return result


def retire(path: Path, delete: bool = False) -> Path | None:
    """After a successful replay: delete the file, or rename it ``*.replayed`` (the default)."""
    if delete:
        path.unlink()
        return None
    target = path.with_name(path.name + REPLAYED_SUFFIX)
    path.replace(target)
    return target


def spill_files(directory: Path) -> list[Path]:
    """The spill files waiting in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name))
