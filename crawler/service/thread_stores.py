"""The store as the data service uses it: one open store per worker thread (an SQLite
connection belongs to the thread that opened it), all closed when the service stops.

The stores come from :func:`crawler.store.thread_store_factory` (MongoDB stores of all threads
share one client: pymongo's client is thread-safe and pools connections); a test injects its own
factory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from crawler.store import Store


class StoreProvider:
    """``provider.get()``: this thread's open store."""

    def __init__(self, factory: Callable[[], Store]) -> None:
        self.factory = factory
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self.factory()
            store.open()
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            with contextlib.suppress(Exception):  # at shutdown: nothing left to do about it
                store.close()
        self._local = threading.local()
