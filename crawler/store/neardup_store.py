"""Near-duplicates in the store: the signatures kept beside the items, the items marked as they
are written, and the cluster of an item for readers (detection itself: :mod:`.neardup`).

Signatures live in the collection ``_near_duplicates``, one record per item of a type with
``near_duplicates:`` (keyed by ``type``, ``collection``, ``key``): the signature (``sig``, of
kind ``v``), when the item was first seen (``seen``), its content hash when indexed
(``item_hash``), a short ``label`` (the start of its first compared field) and, for a
near-duplicate, the earliest item of its cluster (``of_collection``, ``of_key``, ``of_seen``).
Any backend that stores items and reads them (``Store.reader``) keeps them: they are written
with ``upsert_many`` and read with ``page_items`` and ``get_items``, so a later crawl, another
process, or the data service sees them.

:class:`NearDupMarker` runs on the store pipeline's store lane. When a batch of a type with
``near_duplicates:`` is written, the type's index (:class:`~.neardup.NearDupIndex`) is read the
first time: the ``NEAR_DUP_MAX_INDEX`` most recent signatures of the type, records only. Each
item new or changed since it was indexed is compared with the index (every collection of its
type, the batch's earlier items included); a near-duplicate gets ``_duplicate_of`` naming the
earliest item of its cluster and is stored like any item. An item stored before its type
compared near-duplicates, met unchanged, is indexed as it is (an earlier item: never marked).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from crawler.store.base import Store, UpsertResult
from crawler.store.batches import Batch
from crawler.store.browse import ItemQuery
from crawler.store.documents import (
    DUPLICATE_OF_FIELD,
    FIRST_SEEN_FIELD,
    HASH_FIELD,
    content_hash,
    key_text,
    key_values,
    utc_now_iso,
)
from crawler.store.neardup import (
    Entry,
    NearDupIndex,
    Ref,
    decode,
    encode,
    item_text,
    signature_version,
    text_signature,
)

logger = logging.getLogger(__name__)

SIGNATURES = "_near_duplicates"
SIGNATURE_KEY = ("type", "collection", "key")
LABEL_CHARS = 120
_PAGE = 1000
_INDEXES = (("type", "seen"), ("collection", "key"), ("of_key",))


@dataclass
class Marks:
    """What comparing one batch decided: the signature records to write, and its counts. Kept
    on the batch, so a retry writes the same."""

    records: list[dict[str, Any]] = field(default_factory=list)
    checked: int = 0
    duplicates: int = 0


def signature_key(item_type: str, collection: str, key: str) -> str:
    """The ``_key`` of an item's signature record."""
    return key_text([item_type, collection, key])


def _root(record: dict[str, Any]) -> Ref | None:
    if not record.get("of_key"):
        return None
    return Ref(str(record["of_collection"]), str(record["of_key"]), str(record.get("of_seen", "")))


class NearDupMarker:
    """Marks near-duplicates as batches are written (one per store pipeline, on its lane)."""

    def __init__(self, max_index: int) -> None:
        self.max_index = max_index
        self.indexes: dict[str, NearDupIndex] = {}
        self._indexed = False  # the signature collection's indexes are in place
        self._refused: set[str] = set()

    def upsert(self, store: Store, batch: Batch) -> UpsertResult:
        """Write ``batch`` (its items marked) and its signatures; what ``upsert_many`` says."""
        destination = batch.destination
        if batch.marks is None:
            batch.marks = self.mark(store, destination, batch.items)
        result = store.upsert_many(
            destination.collection, batch.items, destination.key, history=destination.history
        )
        if batch.marks.records:
            store.upsert_many(SIGNATURES, batch.marks.records, SIGNATURE_KEY)
            if not self._indexed:
                self._indexed = all(store.ensure_index(SIGNATURES, list(i)) for i in _INDEXES)
        return result

    def mark(self, store: Store, destination: Any, items: list[dict[str, Any]]) -> Marks:
        """Compare the items new or changed since they were indexed; mark near-duplicates."""
        spec, marks = destination.near_duplicates, Marks()
        if store.reader is None:
            if spec.item_type not in self._refused:
                self._refused.add(spec.item_type)
                logger.error(
                    "near-duplicates of %s are not looked for: store %s cannot read (it has "
                    "no reader); its items are stored unmarked",
                    spec.item_type,
                    store.display_uri,
                )
            return marks
        index = self.index(store, spec)
        collection = destination.collection
        keys = [key_text(key_values(doc, destination.key)) for doc in items]
        hashes = [content_hash(doc) for doc in items]
        # what the index does not hold as it is: its signature record, else the stored item
        unknown = [
            k
            for k, digest in zip(keys, hashes, strict=True)
            if (entry := index.get(collection, k)) is None or entry.version != digest
        ]
        signed = [signature_key(spec.item_type, collection, k) for k in unknown]
        records = store.get_items(SIGNATURES, signed) if signed else {}
        missing = [k for k, sk in zip(unknown, signed, strict=True) if sk not in records]
        stored = store.get_items(collection, missing) if missing else {}
        now = utc_now_iso()
        for doc, k, digest in zip(items, keys, hashes, strict=True):
            entry = index.get(collection, k)
            if entry is not None and entry.version == digest:
                continue  # unchanged since it was indexed: not written again
            record = records.get(signature_key(spec.item_type, collection, k))
            old = stored.get(k)
            seen = str((record or {}).get("seen") or (old or {}).get(FIRST_SEEN_FIELD) or now)
            ref = Ref(collection, k, seen)
            if record is not None and record.get("item_hash") == digest:
                # unchanged, indexed earlier (beyond the index's bound): as it was indexed
                sig = decode(record.get("sig")) if record.get("v") == signature_version() else None
                if sig is not None:
                    index.add(ref, sig, _root(record), digest)
                    continue
                unchanged, root = True, _root(record)  # a signature of another kind: again
            else:
                # stored before its type compared near-duplicates, and met unchanged: an
                # earlier item, indexed as it is
                unchanged, root = old is not None and old.get(HASH_FIELD) == digest, None
            sig = text_signature(doc, spec.fields)
            if sig is None:
                continue  # no text to compare
            if not unchanged:
                marks.checked += 1
                root = index.match(ref, sig)
                if root is None:
                    doc.pop(DUPLICATE_OF_FIELD, None)
                else:
                    doc[DUPLICATE_OF_FIELD] = root.link()
                    marks.duplicates += 1
            index.add(ref, sig, root, digest)
            marks.records.append(self.record(spec, ref, sig, root, digest, doc))
        return marks

    @staticmethod
    def record(spec: Any, ref: Ref, sig: Any, root: Ref | None, digest: str, doc: dict) -> dict:
        label = " ".join(item_text(doc, spec.fields[:1]).split())[:LABEL_CHARS]
        return {
            "type": spec.item_type,
            "collection": ref.collection,
            "key": ref.key,
            "seen": ref.seen,
            "v": signature_version(),
            "sig": encode(sig),
            "item_hash": digest,
            "label": label,
            "of_collection": root.collection if root else None,
            "of_key": root.key if root else None,
            "of_seen": root.seen if root else None,
        }

    def index(self, store: Store, spec: Any) -> NearDupIndex:
        """The index of ``spec``'s item type: read from the store the first time (the most
        recent signatures first, at most ``max_index``), kept up to date after."""
        index = self.indexes.get(spec.item_type)
        if index is not None:
            return index
        index = self.indexes[spec.item_type] = NearDupIndex(spec.threshold, self.max_index)
        query = ItemQuery(filters={"type": spec.item_type}, sort="-seen", limit=_PAGE)
        entries, other = [], 0
        for record in islice(store.iter_items(SIGNATURES, query), self.max_index):
            sig = decode(record.get("sig")) if record.get("v") == signature_version() else None
            if sig is None:
                other += 1
                continue
            ref = Ref(str(record["collection"]), str(record["key"]), str(record.get("seen") or ""))
            entries.append(Entry(ref, sig, _root(record), str(record.get("item_hash"))))
        index.add_all(reversed(entries))  # oldest first: the oldest are forgotten first
        logger.info(
            "near-duplicates of %s: %d earlier signature(s) read from the store%s",
            spec.item_type,
            len(entries),
            f"; {other} of another kind ignored (not {signature_version()})" if other else "",
        )
        return index


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "collection": record["collection"],
        "key": record["key"],
        "label": record.get("label") or "",
        "seen": record.get("seen"),
    }


def duplicate_cluster(
    store: Store, collection: str, key: str, item: dict[str, Any], limit: int
) -> dict[str, Any] | None:
    """The cluster of one stored item, for a reader: ``{"original", "duplicates", "more"}``.

    ``original`` is the earliest item of the cluster when ``item`` is a near-duplicate (else
    None); ``duplicates`` the other items linked to that earliest one (at most ``limit``, the
    earliest first; ``more`` says whether there are others). None when the item is no
    near-duplicate and has no signature (its type compares no near-duplicates).
    """
    link = item.get(DUPLICATE_OF_FIELD)
    linked = isinstance(link, dict) and bool(link.get("key"))
    root = (str(link.get("collection")), str(link["key"])) if linked else (collection, key)
    query = ItemQuery(filters={"collection": root[0], "key": root[1]}, limit=1)
    found = store.page_items(SIGNATURES, query).items
    if not found and not linked:
        return None
    original = _shown(found[0] if found else {"collection": root[0], "key": root[1]})
    others: list[dict[str, Any]] = []
    if found:  # (else the earliest item's signature is gone: the link alone)
        filters = {"type": found[0]["type"], "of_collection": root[0], "of_key": root[1]}
        query = ItemQuery(filters, sort="seen", limit=limit + 2)
        members = store.page_items(SIGNATURES, query).items
        others = [m for m in members if (m["collection"], m["key"]) != (collection, key)]
    return {
        "original": original if linked else None,
        "duplicates": [_shown(m) for m in others[:limit]],
        "more": len(others) > limit,
    }
