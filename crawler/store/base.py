"""The store seam: where items go, what a backend must do, and how a URI picks a backend.

>>> StoreTarget("products", key=("sku",))
StoreTarget(collection='products', key=('sku',), history=False, near_duplicates=None)
>>> from crawler.store import open_store
>>> s = open_store("sqlite://")
>>> s.open()
>>> s.upsert_many("books", [{"url": "u1", "title": "A"}], ("url",))
UpsertResult(new=1, updated=0, unchanged=0)
>>> s.upsert_many("books", [{"url": "u1", "title": "A"}], ("url",))
UpsertResult(new=0, updated=0, unchanged=1)
>>> s.close()
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

from crawler.store.browse import ItemQuery, Page, StoreReader
from crawler.store.documents import DEAD_SUFFIX, HISTORY_SUFFIX
from vocab import mask_url

if TYPE_CHECKING:
    from crawler.rules.itemtypes import NearDuplicates

T = TypeVar("T")

#: ``sort`` argument of :meth:`Store.find`: a field name (``"-field"`` for descending) or
#: pymongo-style ``[(field, 1 | -1), ...]``.
Sort = str | Sequence[tuple[str, int]]


@dataclass(frozen=True)
class StoreTarget:
    """Where an item is stored: its collection, the fields that identify it, whether
    earlier versions are kept when it changes, and whether a new item is compared with the
    earlier ones of its item type (its type's ``near_duplicates:``, crawler/store/neardup.py)."""

    collection: str
    key: tuple[str, ...] = ("url",)
    history: bool = False
    near_duplicates: NearDuplicates | None = None
    #: The item type's fields and their JSON-schema types (``(("price", "number"), ...)``):
    #: a backend that keeps typed columns beside the document (PostgreSQL) makes them; the
    #: others ignore them (:meth:`Store.declare_columns`).
    columns: tuple[tuple[str, str], ...] = field(default=(), repr=False)


#: The JSON-schema types a field of an item type may have as a typed column.
COLUMN_TYPES = ("string", "integer", "number", "boolean", "array", "object")


def item_columns(fields: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """:attr:`StoreTarget.columns` of an item type's field declarations (its ``fields:``):
    each field with its JSON-schema type (the first besides null); fields without one left out.

    >>> item_columns({"price": {"type": "number"}, "tags": {"type": ["array", "null"]}, "x": {}})
    (('price', 'number'), ('tags', 'array'))
    """
    out = []
    for name, declaration in fields.items():
        kind = declaration.get("type") if isinstance(declaration, Mapping) else None
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if isinstance(kind, str) and kind in COLUMN_TYPES:
            out.append((name, kind))
    return tuple(out)


@runtime_checkable
class TargetsItems(Protocol):
    """A spider that says where each of its items goes (rule spiders do, from their rule; a
    hand-written spider may). Other spiders' items go to a collection named after the spider,
    keyed by page URL."""

    def store_target(self, item: dict[str, Any]) -> StoreTarget: ...


@dataclass(frozen=True)
class UpsertResult:
    """How many items of a batch were new, changed (and rewritten) or unchanged (left alone)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.new + other.new,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def dropped_parts(collection: str) -> dict[str, str]:
    """The collections :meth:`Store.drop_collection` deletes, by part; ValueError for a name
    that is not an item collection's.

    >>> dropped_parts("books")["dead"]
    'books__dead'
    """
    if not collection or collection.startswith("_"):
        raise ValueError(f"{collection[:100]!r} is internal to the store: never dropped")
    if collection.endswith((DEAD_SUFFIX, HISTORY_SUFFIX)):
        raise ValueError(
            f"{collection[:100]!r} belongs to a collection: drop that one (with its history "
            "and dead letters)"
        )
    return {
        "items": collection,
        "history": collection + HISTORY_SUFFIX,
        "dead": collection + DEAD_SUFFIX,
    }


def shared_lazily(make: Callable[[], T]) -> Callable[[], T]:
    """A getter of ``make()``'s one result, made on the first call (under a lock: threads
    share it): a client or pool that a backend's :meth:`Store.thread_factory` shares.

    >>> get = shared_lazily(object)
    >>> get() is get()
    True
    """
    made: list[T] = []
    lock = threading.Lock()

    def get() -> T:
        with lock:
            if not made:
                made.append(make())
        return made[0]

    return get


class Store(ABC):
    """A place to keep items, dead letters and crawl-run records.

    Collections are created on first use. Each stored document keeps the item's fields plus
    ``_hash`` (content hash, see :func:`crawler.store.documents.content_hash`), ``_first_seen``
    and ``_updated_at``. Dead letters go to ``{collection}__dead``, replaced versions (with
    ``history=True``) to ``{collection}__history``, run records to ``_runs``.
    """

    uri: str
    #: What the backend composes for reading (the data service, exports, push); None: it
    #: stores items and run records only.
    reader: StoreReader | None = None

    @classmethod
    def thread_factory(cls, uri: str) -> Callable[[], Store]:
        """Stores of ``uri`` for threads that each use their own (the data service's workers).
        A backend whose client is thread-safe shares one client among them."""
        return lambda: cls(uri)

    @property
    def display_uri(self) -> str:
        """The URI with credentials masked: safe for logs and run records."""
        return mask_url(self.uri)

    @abstractmethod
    def open(self) -> None:
        """Connect, and create what every store needs (run records, indexes)."""

    @abstractmethod
    def upsert_many(
        self,
        collection: str,
        items: Sequence[dict[str, Any]],
        key: tuple[str, ...],
        *,
        history: bool = False,
    ) -> UpsertResult:
        """Insert new items, rewrite changed ones, leave unchanged ones alone; one batch.

        Raise ValueError if an item lacks a key field (callers dead-letter those first).
        """

    def declare_columns(self, collection: str, columns: dict[str, str]) -> None:
        """The fields of the item type ``collection`` is stored from (field -> JSON-schema
        type), said before its items are written, once per batch. A backend with typed
        columns beside the document adds (or migrates) them; by default nothing happens."""
        return None

    @abstractmethod
    def find(
        self,
        collection: str,
        filter: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
        sort: Sort | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Documents whose top-level fields equal ``filter``'s values."""

    @abstractmethod
    def count(self, collection: str, filter: dict[str, Any] | None = None) -> int:
        """How many documents :meth:`find` would return without a limit."""

    @abstractmethod
    def collections(self) -> list[str]:
        """Every collection holding documents, ``__dead`` and ``__history`` ones included,
        run records excluded; sorted."""

    @abstractmethod
    def dead_letter(
        self, collection: str, items: Sequence[dict[str, Any]], reasons: Sequence[str]
    ) -> int:
        """Keep ``items`` in ``{collection}__dead``, each with its reason (``reasons[i]``).

        Writing the same item with the same reason twice keeps one copy. Return how many
        were written.
        """

    @abstractmethod
    def record_run(self, run: dict[str, Any]) -> None:
        """Keep one crawl-run record (identified by its ``run_id``; recording it again replaces it)."""

    @abstractmethod
    def runs(self, rule: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent run records, newest first, optionally of one rule only."""

    def latest_runs(self, rules: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Each rule's latest run record (rules that never ran are left out). Backends answer
        in one query (the overview of 1,000 rules); this is the one-by-one fallback."""
        latest = {}
        for rule in rules:
            found = self.runs(rule=rule, limit=1)
            if found:
                latest[rule] = found[0]
        return latest

    def drop_collection(self, collection: str) -> dict[str, int]:
        """Delete ``collection`` with its history and dead letters (and their indexes); run
        records and other collections stay. How many documents went: ``{"items": n,
        "history": n, "dead": n}`` (0 for a part that was not there). ValueError for a name
        that is not an item collection's (``_runs``, ``_near_duplicates``, ``x__dead``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot drop collections")

    # -- reading, for the data service, exports and push sinks (crawler/store/browse.py) ----
    # Through the backend's reader: a backend of its own may have none and still store items.

    def _reading(self, cannot: str) -> StoreReader:
        if self.reader is None:
            raise NotImplementedError(f"{type(self).__name__} {cannot}")
        return self.reader

    def page_items(self, collection: str, query: ItemQuery) -> Page:
        """One page of ``collection`` (keyset-paged, filtered, sorted; see :class:`ItemQuery`);
        each document carries its key as text in ``_key``."""
        return self._reading("cannot page items").page_items(collection, query)

    def iter_items(self, collection: str, query: ItemQuery) -> Iterator[dict[str, Any]]:
        """Every document ``query`` matches, streamed page by page (never all in memory)."""
        cursor = query.cursor
        while True:
            page = self.page_items(collection, replace(query, cursor=cursor, count=False))
            yield from page.items
            if page.next is None:
                return
            cursor = page.next

    def get_item(self, collection: str, key: str) -> dict[str, Any] | None:
        """The document whose ``_key`` is ``key``, or None."""
        return self._reading("cannot get one item").get_item(collection, key)

    def get_items(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The documents whose ``_key`` is one of ``keys``, by key (those not stored are left
        out): one query per few hundred keys."""
        return self._reading("cannot get items").get_items(collection, keys)

    def item_history(self, collection: str, key: str, limit: int) -> list[dict[str, Any]]:
        """Earlier versions of one item (``{collection}__history``), newest first."""
        return self._reading("keeps no readable history").item_history(collection, key, limit)

    def ensure_index(self, collection: str, fields: Sequence[str]) -> bool:
        """An index on ``fields`` (in order), created if missing; False if the collection does
        not exist."""
        return self._reading("cannot create indexes").ensure_index(collection, fields)

    def ensure_search(self, collection: str) -> bool:
        """The text index of ``collection`` (``ItemQuery.text``), created if missing; False if
        the collection does not exist, or the backend's reader has no text search."""
        ensure = getattr(self._reading("cannot create indexes"), "ensure_search", None)
        return bool(ensure is not None and ensure(collection))

    def dead_page(self, collection: str, limit: int, cursor: str | None) -> Page:
        """One page of ``{collection}__dead``, oldest first; each with ``_reason`` and
        ``_dead_id``."""
        return self._reading("cannot list dead letters").dead_page(collection, limit, cursor)

    def dead_by_ids(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        return self._reading("cannot read dead letters").dead_by_ids(collection, ids)

    def remove_dead(self, collection: str, ids: Sequence[str]) -> int:
        """Delete dead letters (after a replay stored them); how many were deleted."""
        return self._reading("cannot remove dead letters").remove_dead(collection, ids)

    def changes(
        self, collection: str, limit: int, cursor: str | None, before: str | None = None
    ) -> Page:
        """Documents new or changed since ``cursor`` (None: from the start), ordered by
        ``_updated_at`` then by the backend's tie-breaker; ``next`` is where to go on from,
        set even on the last page (a business system polls with it).

        ``before`` (ISO UTC) leaves out documents changed at or after it. A reader passes a
        time a little in the past: a write stamped in the same millisecond as the last document
        read, or committed a moment after its stamp by another process, then still comes after
        the cursor instead of being passed over."""
        return self._reading("has no change feed").changes(collection, limit, cursor, before)

    def runs_page(
        self, rule: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Run records newest first (by ``started_at``), keyset-paged: ``(records, next)``."""
        return self._reading("cannot page run records").runs_page(rule, limit, cursor)

    def run_parts(self, run_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The records of the workers of distributed run ``run_id`` (``part_of`` it), oldest
        first; lists of runs leave them out (the run's own record stands for them)."""
        return self._reading("cannot list a run's parts").run_parts(run_id, limit)

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """The run record whose ``run_id`` (or ``schedule_run_id``, or the scheduled run id
        in its stats) is ``run_id``."""
        return self._reading("cannot get one run record").get_run(run_id)

    @abstractmethod
    def close(self) -> None:
        """Release the connection; closing twice is harmless."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_uri!r})"
