"""The data store: where items, dead letters and crawl-run records are kept.

``open_store(uri)`` picks a backend from ``STORE_URI`` (``sqlite:///...`` embedded, the default;
``mongodb://...``). See docs/storage.md.
"""

from crawler.store.base import Store, StoreTarget, UpsertResult, open_store

__all__ = ["Store", "StoreTarget", "UpsertResult", "open_store"]
