"""The data store: where items, dead letters and crawl-run records are kept, and the item
pipelines that validate and write them (docs/storage.md; settings in crawler/defaults/store.py).

- the seam: :mod:`.base` (``Store``, ``StoreTarget``), backends by URI scheme (:mod:`.backends`,
  ``STORE_BACKENDS``): :mod:`.sqlite` (embedded, the default) and :mod:`.mongo`, each reading
  through a reader it composes (:mod:`.sqlite_reader`, :mod:`.mongo_reader`; shapes in
  :mod:`.browse`); documents, keys and hashes (:mod:`.documents`);
- the pipelines: :mod:`.itemtype_pipeline` (map, clean, validate against item types; invalid
  items marked for the dead letters), then :mod:`.store_pipeline` (batched writes through
  :mod:`.writer` and :mod:`.batches`, the write-ahead journal through :mod:`.journaling`);
- what is kept aside and brought back: the journal's files (:mod:`.journal`), spill files
  (:mod:`.spill`).

Other packages use what this module exports. In a crawl every component gets its store from
:func:`crawl_store` (so ``STORE_BACKENDS`` is honoured everywhere); outside a crawl,
:func:`open_store` and :func:`thread_store_factory`.
"""

from crawler.store.backends import crawl_store, open_store, thread_store_factory
from crawler.store.base import Store, StoreTarget, TargetsItems, UpsertResult
from crawler.store.browse import (
    CursorError,
    ItemQuery,
    Page,
    check_field,
    filter_value,
    strip_dead_fields,
)
from crawler.store.documents import (
    DEAD_SUFFIX,
    HISTORY_SUFFIX,
    RUNS_COLLECTION,
    UPDATED_AT_FIELD,
    dumps,
    is_empty,
    missing_key_field,
    utc_now_iso,
)
from crawler.store.signals import item_dead_lettered
from crawler.store.spill import run_line

__all__ = [
    "DEAD_SUFFIX",
    "HISTORY_SUFFIX",
    "RUNS_COLLECTION",
    "UPDATED_AT_FIELD",
    "CursorError",
    "ItemQuery",
    "Page",
    "Store",
    "StoreTarget",
    "TargetsItems",
    "UpsertResult",
    "check_field",
    "crawl_store",
    "dumps",
    "filter_value",
    "is_empty",
    "item_dead_lettered",
    "missing_key_field",
    "open_store",
    "run_line",
    "strip_dead_fields",
    "thread_store_factory",
    "utc_now_iso",
]
