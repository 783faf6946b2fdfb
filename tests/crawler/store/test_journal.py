"""The write-ahead journal: items wait for the disk, acknowledgements retire segments, a dead
process's journal is found (and only then), replayed into its own store only, and a torn last
line is skipped."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.store import open_store
from crawler.store.journal import (
    JournalFiles,
    orphans,
    read_journal,
    replay_orphans,
    store_id,
)
from crawler.store.journaling import Journal
from crawler.store.spill import item_record


class HeldLane:
    """A lane whose jobs wait until the test runs them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[[], Any], Callable[[Any, Any], object]]] = []
        self.inline = False  # True: run each job at once (closing)

    def submit(self, job: Callable[[], Any], on_done: Callable[[Any, Any], object]) -> None:
        self.jobs.append((job, on_done))
        if self.inline:
            self.run()

    def run(self) -> None:
        while self.jobs:
            job, on_done = self.jobs.pop(0)
            try:
                on_done(job(), None)
            except Exception as exc:
                on_done(None, exc)

    def close(self) -> None:
        pass


def journal(tmp_path: Path, uri: str = "sqlite:///x.db", segment_bytes: int = 1 << 20):
    lane = HeldLane()
    header = {"run_id": "r1", "rule": "shop", "store": store_id(uri), "pid": os.getpid()}
    files = JournalFiles(tmp_path / "journal", "shop-r1", header)
    files.open()
    return Journal(files, lane, segment_bytes), lane


def record(i: int) -> dict[str, Any]:
    return item_record("books", ["url"], False, {"url": f"u{i}", "title": "t" * 200})


def test_an_item_waits_for_its_line_to_be_on_disk(tmp_path):
    j, lane = journal(tmp_path)
    seq, durable = j.append(record(1))
    seq2, durable2 = j.append(record(2))  # arrives while the first write is under way
    assert (seq, seq2) == (1, 2) and not durable.done and not durable2.done
    lane.run()
    assert durable.done and durable2.done and j.is_durable(2)
    lines = (tmp_path / "journal" / "shop-r1.000001.journal").read_text().splitlines()
    assert json.loads(lines[0])["journal"] == 1
    assert [json.loads(line)["seq"] for line in lines[1:]] == [1, 2]


def test_acknowledged_sealed_segments_are_deleted_and_a_clean_close_leaves_nothing(tmp_path):
    j, lane = journal(tmp_path, segment_bytes=4096)
    seqs = [j.append(record(i))[0] for i in range(40)]
    lane.run()
    directory = tmp_path / "journal"
    segments = sorted(directory.glob("*.journal"))
    assert len(segments) > 2
    j.ack(seqs[:20])
    lane.run()
    assert len(list(directory.glob("*.journal"))) < len(segments)
    assert j.unacked == 20
    j.ack(seqs[20:])
    lane.inline = True
    lane.run()
    asyncio.run(j.close(keep=False))
    assert list(directory.iterdir()) == []


def test_orphans_are_only_the_journals_of_dead_processes_and_replay_into_their_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    directory = tmp_path / "journal"
    alive, lane = journal(tmp_path, uri)
    alive.append(record(0))
    lane.run()
    assert list(orphans(directory)) == []  # its owner holds the lock

    dead = subprocess.run(
        [sys.executable, "-c", DEAD_WRITER, str(directory), store_id(uri)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dead.returncode == 0, dead.stderr
    with (directory / "shop-dead.000001.journal").open("a") as torn:
        torn.write('{"seq": 99, "collection": "books", "key": ["url"], "item": {"url": "u9')
    (found,) = orphans(directory)
    records, acked, torn_lines, bad = read_journal(found)
    assert [r["seq"] for r in records] == [1, 2, 3] and acked == {1} and torn_lines == 1
    assert bad == []
    found.release(delete=False)

    skipped: list = []
    with open_store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        other_uri = f"sqlite:///{tmp_path / 'other.db'}"
        assert replay_orphans(other, directory, other_uri, 500, skipped) == []
        assert other.count("books") == 0  # written for another store: left alone
    assert len(skipped) == 1
    with open_store(uri) as store:
        (replay,) = replay_orphans(store, directory, uri)
        assert (replay.journaled, replay.acknowledged, replay.replayed) == (3, 1, 2)
        assert sorted(d["url"] for d in store.find("books")) == ["u2", "u3"]
    assert sorted(p.name for p in directory.iterdir()) == [
        "shop-r1.000001.journal",
        "shop-r1.lock",
    ]


DEAD_WRITER = """
import sys
from pathlib import Path
from crawler.store.journal import JournalFiles
from crawler.store.spill import item_record
from crawler.store.documents import dumps
files = JournalFiles(Path(sys.argv[1]), "shop-dead", {"run_id": "dead", "rule": "shop",
                     "store": sys.argv[2], "pid": 1})
files.open()
lines = [dumps({"seq": i, **item_record("books", ["url"], False, {"url": f"u{i}"})}) + "\\n"
         for i in (1, 2, 3)]
files.write([(1, line) for line in lines] + [(1, dumps({"ack": [1]}) + "\\n")])
# exits without closing: the lock goes with the process
"""


def test_a_live_workers_journal_is_never_taken_for_an_orphan(tmp_path):
    """Run ids of a distributed run's workers hold dots (RUN.1, RUN.2): each journal is its
    own, and one whose owner lives is left alone, whatever names it shares a prefix with."""
    from crawler.store.journal import JournalFiles, orphans

    alive = JournalFiles(tmp_path, "books-run7.1", {"run_id": "run7.1"})
    alive.open()
    alive.write([(1, '{"i": 1}\n')])
    dead = JournalFiles(tmp_path, "books-run7.2", {"run_id": "run7.2"})
    dead.open()
    dead.write([(1, '{"i": 2}\n')])
    dead.close(delete=False)  # its process is gone: the lock is free
    found = list(orphans(tmp_path))
    try:
        assert [(o.name, [p.name for p in o.segments]) for o in found] == [
            ("books-run7.2", ["books-run7.2.000001.journal"])
        ]
    finally:
        for orphan in found:
            orphan.release(delete=False)
        alive.close(delete=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "books-run7.2.000001.journal",
        "books-run7.2.lock",
    ]
