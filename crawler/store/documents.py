"""How an item becomes a stored document: its content hash, its key, and the plan of one batch.

Both backends share this logic so that "new", "updated" and "unchanged" mean the same thing
whatever the store is.

>>> content_hash({"title": "A", "_url": "http://x"}) == content_hash({"title": "A", "_url": "http://y"})
True
>>> key_values({"url": "http://x", "sku": 7}, ("url", "sku"))
('http://x', 7)
>>> missing_key_field({"url": "  "}, ("url",))
'url'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

#: Bookkeeping fields the store adds to the documents it keeps.
HASH_FIELD = "_hash"
FIRST_SEEN_FIELD = "_first_seen"
UPDATED_AT_FIELD = "_updated_at"
REPLACED_AT_FIELD = "_replaced_at"
DEAD_ID_FIELD = "_dead_id"
DEAD_REASON_FIELD = "_reason"
DEAD_AT_FIELD = "_dead_at"
#: On an item of a type with ``near_duplicates:`` that tells the same story as an earlier item:
#: ``{"collection", "key"}`` of the earliest item of its cluster (crawler/store/neardup_store.py).
DUPLICATE_OF_FIELD = "_duplicate_of"

HISTORY_SUFFIX = "__history"
DEAD_SUFFIX = "__dead"
RUNS_COLLECTION = "_runs"


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds, e.g. ``2026-11-22T01:55:34.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_default(value: Any) -> Any:
    """Make the odd non-JSON value storable instead of failing a whole batch on it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# orjson encodes ~7x faster than the json module, which is most of a batch's time. The json
# module (encoders built once) takes over for what orjson refuses, such as integers beyond
# 64 bits, so an odd value never fails a batch.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default)
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=json_default
)


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 text kept as is, anything exotic stringified."""
    try:
        return orjson.dumps(value, default=json_default, option=_ORJSON_OPTIONS).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        return _COMPACT.encode(value)


def _canonical_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(
            value, default=json_default, option=_ORJSON_OPTIONS | orjson.OPT_SORT_KEYS
        )
    except (orjson.JSONEncodeError, TypeError):
        return _CANONICAL.encode(value).encode("utf-8")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys: the same content always gives the same text.

    >>> canonical_json({"b": [1, 2.5], "a": "é"})
    '{"a":"é","b":[1,2.5]}'
    """
    return _canonical_bytes(value).decode("utf-8")


_SCALARS = (str, int, float, bool, type(None), bytes)


def plain_document(item: Any) -> dict[str, Any]:
    """An item as a plain dict, nested items too: what ``ItemAdapter(item).asdict()`` gives,
    without asking every adapter about every value of a plain dict (a rule's items are plain
    dicts of plain values: 0.4 ms an item, the store pipeline's largest cost, saved).

    >>> plain_document({"a": [1, {"b": (2, 3)}], "c": None})
    {'a': [1, {'b': (2, 3)}], 'c': None}
    """
    if not isinstance(item, dict):
        from itemadapter import ItemAdapter

        return ItemAdapter(item).asdict()
    return {key: _plain(value) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, list | set | tuple):
        return value.__class__(_plain(v) for v in value)
    from itemadapter import ItemAdapter

    return ItemAdapter._asdict(value)  # an item inside, or anything else, as itemadapter does


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def content_hash(item: Mapping[str, Any]) -> str:
    """sha1 of the canonical JSON of the item's content fields (metadata ``_*`` keys excluded)."""
    content = {k: v for k, v in item.items() if k[:1] != "_"}
    return hashlib.sha1(_canonical_bytes(content)).hexdigest()


def text_size(value: Any) -> int:
    """About how many bytes ``value`` holds: the length of its strings, keys included, walked
    through dicts and lists; 8 for anything else. What bounds the store pipeline's memory by
    bytes, at a fraction of the cost of serializing the item.

    >>> text_size({"title": "abc", "tags": ["x", "yz"], "n": 1})  # 5+3 + 4+1+2 + 1+8
    24
    """
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(len(k) if isinstance(k, str) else 8 for k in value) + sum(
            map(text_size, value.values())
        )
    if isinstance(value, list | tuple):
        return sum(map(text_size, value))
    return 8


def is_empty(value: Any) -> bool:
    """A key value that cannot identify an item: None, blank text, an empty container."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set):
        return not value
    return False


def missing_key_field(item: Mapping[str, Any], key: Sequence[str]) -> str | None:
    """The first key field that is missing or empty in ``item``, or None if the key is usable."""
    for name in key:
        if is_empty(item.get(name)):
            return name
    return None


def key_values(item: Mapping[str, Any], key: Sequence[str]) -> tuple[Any, ...]:
    """The item's key as a tuple; raise ValueError naming the first missing or empty field."""
    name = missing_key_field(item, key)
    if name is not None:
        raise ValueError(f"missing key field {name!r}")
    return tuple(item[name] for name in key)


def key_text(values: Sequence[Any]) -> str:
    """A key tuple as one comparable string (used as the SQLite primary key)."""
    return canonical_json(list(values))


def dead_id(item: Mapping[str, Any], reason: str) -> str:
    """Identity of a dead letter, so writing (or replaying) the same one twice keeps one copy."""
    return hashlib.sha1(canonical_json([reason, dict(item)]).encode("utf-8")).hexdigest()


def dead_document(item: Mapping[str, Any], reason: str, now: str) -> dict[str, Any]:
    doc = dict(item)
    doc[DEAD_REASON_FIELD] = reason
    doc[DEAD_AT_FIELD] = now
    doc[DEAD_ID_FIELD] = dead_id(item, reason)
    return doc


@dataclass(frozen=True)
class Existing:
    """What a backend knows about a stored document before a batch: enough to plan it."""

    hash: str
    first_seen: str | None


@dataclass
class UpsertPlan:
    """What one batch does to a collection, decided before anything is written.

    ``inserts`` and ``updates`` map a key to the document to write (one write per key, even
    when a batch holds the same key twice); ``replaced`` lists the versions about to be
    replaced, in order, for backends that keep history.
    """

    inserts: dict[Hashable, dict[str, Any]] = field(default_factory=dict)
    updates: dict[Hashable, dict[str, Any]] = field(default_factory=dict)
    replaced: list[tuple[Hashable, dict[str, Any] | None]] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def new_document(item: Mapping[str, Any], now: str, digest: str | None = None) -> dict[str, Any]:
    """The document of an item stored for the first time (``digest``: its content hash, when
    known).

    >>> sorted(new_document({"u": 1}, "now"))
    ['_first_seen', '_hash', '_updated_at', 'u']
    """
    doc = dict(item)
    doc[HASH_FIELD] = digest if digest is not None else content_hash(item)
    doc[UPDATED_AT_FIELD] = now
    doc[FIRST_SEEN_FIELD] = now
    return doc


def plan_upsert(
    items: Sequence[Mapping[str, Any]],
    keys: Sequence[Hashable],
    existing: Mapping[Hashable, Existing],
    now: str,
) -> UpsertPlan:
    """Compare each item (identified by ``keys[i]``) with what is stored and decide: insert,
    update or leave alone.

    ``replaced`` holds ``(key, None)`` for a stored version the backend must fetch itself, or
    ``(key, doc)`` for a version written earlier in the same batch.

    >>> plan = plan_upsert([{"u": 1, "v": "a"}, {"u": 1, "v": "b"}], [1, 1], {}, "now")
    >>> plan.new, plan.updated, plan.unchanged, list(plan.inserts[1].items())[:2]
    (1, 1, 0, [('u', 1), ('v', 'b')])
    """
    plan = UpsertPlan()
    current: dict[Hashable, tuple[str, str | None]] = {
        k: (e.hash, e.first_seen) for k, e in existing.items()
    }
    for item, k in zip(items, keys, strict=True):
        digest = content_hash(item)
        known = current.get(k)
        if known is not None and known[0] == digest:
            plan.unchanged += 1
            continue
        if known is None:
            plan.inserts[k] = new_document(item, now, digest)
            plan.new += 1
            current[k] = (digest, now)
            continue
        doc = new_document(item, now, digest)
        doc[FIRST_SEEN_FIELD] = known[1] or now  # an update keeps when it was first seen
        plan.updated += 1
        earlier = plan.inserts.get(k) or plan.updates.get(k)
        plan.replaced.append((k, dict(earlier) if earlier is not None else None))
        if k in plan.inserts:
            plan.inserts[k] = doc
        else:
            plan.updates[k] = doc
        current[k] = (digest, known[1])
    return plan
