"""The write-ahead journal's files: their format, who owns them, and their replay.

A crawl appends every item it hands to the store pipeline to its journal, fsynced per batch,
before the item's request counts as done; when the store (or a spill file) has taken an item,
an acknowledgement follows. A process that dies leaves its journal behind; the next run (or
``scrapy store replay``) writes the items that were never acknowledged, then deletes it.

Files, in ``STORE_JOURNAL_DIR``, for a run ``<name>`` (``<rule>-<run id>``)::

    <name>.lock            held (flock) by the living process; free: its owner is gone
    <name>.000001.journal  segments, a new one every STORE_JOURNAL_SEGMENT_BYTES

Lines (JSON)::

    {"journal": 1, "run_id": ..., "rule": ..., "store": "<sha256 of the store URI, 16 hex>", ...}
    {"seq": 7, "collection": "books", "key": ["url"], "history": false, "item": {...}}
    {"seq": 8, "collection": "books", "dead": true, "reason": "...", "item": {...}}
    {"ack": [7, 8]}

Item lines are spill lines (crawler/store/spill.py) with a sequence number. A journal is
replayed only into the store it was written for: its header names a digest of the store URI,
never the URI (which may hold credentials). A torn last line (a process killed mid-write) held
items whose requests never counted as done; it is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.core.exitcodes import EXIT_CODES
from crawler.store.base import Store
from crawler.store.spill import ReplayResult, replay_records

JOURNAL_VERSION = 1
SEGMENT_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"


def store_id(uri: str) -> str:
    """Which store a journal belongs to, without writing its URI (credentials) to disk.

    >>> store_id("sqlite:///data/items.db") == store_id("sqlite:///data/items.db")
    True
    >>> len(store_id("mongodb://u:secret@h/db"))
    16
    """
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()[:16]


def journal_name(rule: str, run_id: str) -> str:
    """``<rule>-<run id>``, safe as a file name.

    >>> journal_name("shop/books", "ab12")
    'shop_books-ab12'
    """
    return re.sub(r"[^\w.-]", "_", rule) + "-" + run_id


def segment_path(directory: Path, name: str, number: int) -> Path:
    return directory / f"{name}.{number:06d}{SEGMENT_SUFFIX}"


def journal_of(segment: Path) -> str:
    """The journal a segment belongs to (run ids may hold dots: a distributed run's workers').

    >>> journal_of(Path("books-ab12.3.000002.journal"))
    'books-ab12.3'
    """
    return segment.name[: -len(SEGMENT_SUFFIX)].rpartition(".")[0]


def segments_of(directory: Path, name: str) -> list[Path]:
    """The segments of journal ``name``, in order (not those of a name it is a prefix of)."""
    found = directory.glob(f"{glob.escape(name)}.*{SEGMENT_SUFFIX}")
    return sorted(p for p in found if journal_of(p) == name)


class JournalFiles:
    """The files of one run's journal, written from one thread (the pipeline's file lane)."""

    def __init__(self, directory: Path, name: str, header: dict[str, Any]) -> None:
        self.directory = directory
        self.name = name
        self.header = {"journal": JOURNAL_VERSION, **header}
        self._lock_fd: int | None = None
        self._fds: dict[int, int] = {}

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / f"{self.name}{LOCK_SUFFIX}", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock_fd = fd

    def write(self, lines: list[tuple[int, str]]) -> None:
        """Append ``(segment, line)`` pairs, fsyncing each segment written to (in order: a
        segment is sealed, its file closed, once a later one is opened)."""
        chunks: dict[int, list[bytes]] = {}
        for number, line in lines:
            chunks.setdefault(number, []).append(line.encode("utf-8"))
        for number in sorted(chunks):
            fd = self._segment(number)
            data = memoryview(b"".join(chunks[number]))
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)

    def _segment(self, number: int) -> int:
        fd = self._fds.get(number)
        if fd is None:
            path = segment_path(self.directory, self.name, number)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(fd, (json.dumps(self.header) + "\n").encode("utf-8"))
            self._fds[number] = fd
            for old in [n for n in self._fds if n < number]:  # sealed: no line goes there again
                os.close(self._fds.pop(old))
        return fd

    def delete_segment(self, number: int) -> None:
        fd = self._fds.pop(number, None)
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            segment_path(self.directory, self.name, number).unlink()

    def close(self, delete: bool) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if delete:
            for path in segments_of(self.directory, self.name):
                path.unlink(missing_ok=True)
            (self.directory / f"{self.name}{LOCK_SUFFIX}").unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock: the journal is an orphan now
            self._lock_fd = None


@dataclass
class Orphan:
    """The journal of a process that is gone, locked by the caller while it replays it."""

    directory: Path
    name: str
    segments: list[Path]
    header: dict[str, Any] = field(default_factory=dict)
    lock_fd: int | None = None

    def release(self, delete: bool) -> None:
        if delete:
            for path in self.segments:
                path.unlink(missing_ok=True)
            (self.directory / f"{self.name}{LOCK_SUFFIX}").unlink(missing_ok=True)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


def orphans(directory: Path) -> Iterator[Orphan]:
    """Journals in ``directory`` whose owner is gone, each locked until ``release``d (so that
    two processes never replay one journal)."""
    if not directory.is_dir():
        return
    names = {journal_of(p) for p in directory.glob(f"*{SEGMENT_SUFFIX}")}
    for name in sorted(names):
        lock = directory / f"{name}{LOCK_SUFFIX}"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # alive: its owner holds the lock
            continue
        segments = segments_of(directory, name)
        if not segments:  # replayed by another process meanwhile
            os.close(fd)
            continue
        yield Orphan(directory, name, segments, _header(segments[0]), fd)


def _header(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as lines:
            first = json.loads(lines.readline() or "{}")
    except (OSError, ValueError):
        return {}
    return first if isinstance(first, dict) and "journal" in first else {}


@dataclass
class JournalReplay:
    """What replaying one orphan did: ``result`` counts what was written."""

    orphan: Orphan
    result: ReplayResult
    journaled: int = 0  # item lines in the journal
    acknowledged: int = 0  # of those, acknowledged before the process died
    torn: int = 0  # unreadable last lines (a write cut short)

    @property
    def replayed(self) -> int:
        return self.journaled - self.acknowledged

    @property
    def ok(self) -> bool:
        return not self.result.bad_lines


def read_journal(orphan: Orphan) -> tuple[list[dict[str, Any]], set[int], int, list[int]]:
    """``(item records, acknowledged seqs, torn last lines, bad line numbers)``."""
    records: list[dict[str, Any]] = []
    acked: set[int] = set()
    torn = 0
    bad: list[int] = []
    number = 0
    for path in orphan.segments:
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        tail = lines.pop()  # "" when the file ends with a newline
        for line in [*lines, tail]:
            number += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if line is tail:
                    torn += 1  # the last line, cut short by a crash
                else:
                    bad.append(number)
                continue
            if not isinstance(record, dict) or "journal" in record:
                continue
            if isinstance(record.get("ack"), list):
                acked.update(s for s in record["ack"] if isinstance(s, int))
            elif isinstance(record.get("seq"), int) and isinstance(record.get("item"), dict):
                records.append(record)
            else:
                bad.append(number)
    return records, acked, torn, bad


def replay_journal(store: Store, orphan: Orphan, batch_size: int = 500) -> JournalReplay:
    """Write the items of ``orphan`` that were never acknowledged into ``store`` (open)."""
    records, acked, torn, bad = read_journal(orphan)
    unacked = [r for r in records if r["seq"] not in acked]
    result = ReplayResult(orphan.segments[0], bad_lines=bad)
    replay_records(store, unacked, result, batch_size)
    return JournalReplay(orphan, result, len(records), len(records) - len(unacked), torn)


def replay_orphans(
    store: Store,
    directory: Path,
    uri: str,
    batch_size: int = 500,
    skipped: list[Orphan] | None = None,
) -> list[JournalReplay]:
    """Replay every orphan journal of ``store`` (open, at ``uri``) found in ``directory``; each
    is deleted once replayed whole. Journals of other stores are left alone (and listed in
    ``skipped``). The run record of a run that died while running says so afterwards (status
    ``interrupted``)."""
    replays: list[JournalReplay] = []
    mine = store_id(uri)
    for orphan in orphans(directory):
        if orphan.header.get("store") != mine:
            orphan.release(delete=False)
            if skipped is not None:
                skipped.append(orphan)
            continue
        try:
            replay = replay_journal(store, orphan, batch_size)
        except BaseException:
            orphan.release(delete=False)
            raise
        orphan.release(delete=replay.ok)
        _mark_run_died(store, orphan.header, replay)
        replays.append(replay)
    return replays


def _mark_run_died(store: Store, header: dict[str, Any], replay: JournalReplay) -> None:
    run_id, rule = header.get("run_id"), header.get("rule")
    if not run_id:
        return
    for run in store.runs(rule=rule, limit=200):
        if run.get("run_id") == run_id:
            if run.get("status") == "running":
                run.update(
                    status="interrupted",
                    exit_code=EXIT_CODES["interrupted"],
                    status_reason=(
                        f"the process (pid {header.get('pid')}) died before the crawl ended; "
                        f"{replay.replayed} journaled item(s) were replayed into the store later"
                    ),
                )
                store.record_run(run)
            return
