"""The data store: where items, dead letters and crawl-run records are kept, and the item
pipelines that validate and write them (docs/storage.md; settings in crawler/defaults/store.py).

- the seam: :mod:`.base` (``Store``, ``StoreTarget``), backends by URI scheme (:mod:`.backends`,
  ``STORE_BACKENDS``): :mod:`.sqlite` (embedded, the default), :mod:`.mongo` and
  :mod:`.postgres` (psycopg, imported when such a store opens), each reading through a reader it
  composes (:mod:`.sqlite_reader`, :mod:`.mongo_reader`, :mod:`.postgres_reader`; shapes in
  :mod:`.browse`); documents, keys and hashes (:mod:`.documents`);
- the pipelines: :mod:`.itemtype_pipeline` (map, clean, validate against item types; invalid
  items marked for the dead letters), then :mod:`.store_pipeline` (batched writes through
  :mod:`.writer` and :mod:`.batches`, the write-ahead journal through :mod:`.journaling`);
- what is kept aside and brought back: the journal's files (:mod:`.journal`), spill files
  (:mod:`.spill`);
- near-duplicates across sources: detection (:mod:`.neardup`), signatures in the store, items
  marked as they are written and the cluster of an item (:mod:`.neardup_store`).

Other packages use what this module exports. In a crawl every component gets its store from
:func:`crawl_store` (so ``STORE_BACKENDS`` is honoured everywhere); outside a crawl,
:func:`open_store` and :func:`thread_store_factory`.
"""

from crawler.store.backends import crawl_store, open_store, thread_store_factory
from crawler.store.base import (
    Store,
    StoreTarget,
    TargetsItems,
    UpsertResult,
    dropped_parts,
    item_columns,
)
from crawler.store.browse import (
    CursorError,
    ItemQuery,
    Page,
    check_field,
    check_match,
    filter_value,
    strip_dead_fields,
    text_terms,
)
from crawler.store.documents import (
    DEAD_SUFFIX,
    DUPLICATE_OF_FIELD,
    HISTORY_SUFFIX,
    RUNS_COLLECTION,
    UPDATED_AT_FIELD,
    canonical_json,
    content_hash,
    dumps,
    is_empty,
    key_text,
    loads,
    missing_key_field,
    utc_now_iso,
)
from crawler.store.itemtype_pipeline import typed_item
from crawler.store.neardup_store import SIGNATURES as NEAR_DUP_SIGNATURES
from crawler.store.neardup_store import duplicate_cluster
from crawler.store.signals import item_dead_lettered
from crawler.store.spill import run_line

__all__ = [
    "DEAD_SUFFIX",
    "DUPLICATE_OF_FIELD",
    "HISTORY_SUFFIX",
    "NEAR_DUP_SIGNATURES",
    "RUNS_COLLECTION",
    "UPDATED_AT_FIELD",
    "CursorError",
    "ItemQuery",
    "Page",
    "Store",
    "StoreTarget",
    "TargetsItems",
    "UpsertResult",
    "canonical_json",
    "check_field",
    "check_match",
    "content_hash",
    "crawl_store",
    "dropped_parts",
    "dumps",
    "duplicate_cluster",
    "filter_value",
    "is_empty",
    "item_columns",
    "item_dead_lettered",
    "key_text",
    "loads",
    "missing_key_field",
    "open_store",
    "run_line",
    "strip_dead_fields",
    "text_terms",
    "thread_store_factory",
    "typed_item",
    "utc_now_iso",
]
