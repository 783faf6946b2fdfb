"""The data store: where items, dead letters and crawl-run records are kept.

``open_store(uri)`` picks a backend by the URI's scheme (``STORE_BACKENDS``: ``sqlite:///...``
embedded, the default; ``mongodb://...``). See docs/storage.md.
"""

from crawler.store.backends import build_store, open_store
from crawler.store.base import Store, StoreTarget, TargetsItems, UpsertResult

__all__ = ["Store", "StoreTarget", "TargetsItems", "UpsertResult", "build_store", "open_store"]
