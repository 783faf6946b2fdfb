"""What the store pipeline works with: its settings, where a batch goes (a collection or its
dead letters), and the batches themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.core.switches import off
from crawler.store.base import StoreTarget


@dataclass(frozen=True)
class StorePipelineSettings:
    """The ``STORE_*`` settings the pipeline reads."""

    uri: str
    spill_dir: Path
    batch_size: int = 500
    batch_seconds: float = 2.0
    retry_times: int = 3
    retry_backoff: float = 1.0
    buffer_max: int = 10_000
    batch_bytes: int = 4 * 1024 * 1024
    buffer_bytes: int = 32 * 1024 * 1024
    journal_dir: Path | None = None  # None: no write-ahead journal
    journal_segment_bytes: int = 64 * 1024 * 1024
    journal_replay: bool = True
    near_dup_max_index: int = 10_000  # signatures of one item type held in memory

    @classmethod
    def from_settings(cls, settings: Any) -> StorePipelineSettings:
        uri = settings.get("STORE_URI") or ""
        if not uri:
            raise off("StorePipeline", "STORE_URI is empty")
        return cls(
            uri=uri,
            spill_dir=Path(settings.get("STORE_SPILL_DIR")),
            batch_size=max(1, settings.getint("STORE_BATCH_SIZE")),
            batch_seconds=max(0.01, settings.getfloat("STORE_BATCH_SECONDS")),
            retry_times=max(0, settings.getint("STORE_RETRY_TIMES")),
            retry_backoff=max(0.0, settings.getfloat("STORE_RETRY_BACKOFF")),
            buffer_max=max(1, settings.getint("STORE_BUFFER_MAX")),
            batch_bytes=max(1, settings.getint("STORE_BATCH_BYTES")),
            buffer_bytes=max(1, settings.getint("STORE_BUFFER_BYTES")),
            journal_dir=Path(journal) if (journal := settings.get("STORE_JOURNAL_DIR")) else None,
            journal_segment_bytes=max(4096, settings.getint("STORE_JOURNAL_SEGMENT_BYTES")),
            journal_replay=settings.getbool("STORE_JOURNAL_REPLAY"),
            near_dup_max_index=max(1, settings.getint("NEAR_DUP_MAX_INDEX")),
        )


@dataclass(frozen=True)
class Destination:
    """Where a batch goes: a target collection, or its dead-letter collection."""

    collection: str
    key: tuple[str, ...] = ("url",)
    history: bool = False
    dead: bool = False
    near_duplicates: Any = None  # the item type's NearDuplicates: new items are compared
    columns: tuple[tuple[str, str], ...] = ()  # the item type's fields (StoreTarget.columns)

    @classmethod
    def of(cls, target: StoreTarget) -> Destination:
        return cls(
            target.collection,
            tuple(target.key),
            target.history,
            False,
            target.near_duplicates,
            tuple(target.columns),
        )

    @classmethod
    def dead_letters(cls, collection: str) -> Destination:
        return cls(collection, (), False, dead=True)


@dataclass
class Batch:
    destination: Destination
    items: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # dead letters only, one per item
    seqs: list[int] = field(
        default_factory=list
    )  # journal sequence numbers, one per item (0: none)
    attempts: int = 0
    size: int = 0  # bytes of its items' text (crawler.store.documents.text_size)
    marks: Any = None  # near-duplicates found (crawler.store.neardup_store.Marks), for retries


def default_target(spider: Any) -> StoreTarget:
    """Where a hand-written spider's items go: its own collection, keyed by page URL."""
    return StoreTarget(collection=spider.name, key=("_url",))
