"""Store backends by URI scheme, as Scrapy picks feed storages (``FEED_STORAGES``): the settings
``STORE_BACKENDS_BASE`` and ``STORE_BACKENDS`` map a scheme to a :class:`Store` class path.

Two ways in, one choice of class: :func:`crawl_store` for every component of a crawl (the store
pipeline, the run recorder, monitors, push), built with ``build_from_crawler`` so a backend of
the project's own gets the crawler; :func:`open_store` outside a crawl (commands, the data
service). Each call is a new, not yet opened store: a store belongs to the thread that uses it.

>>> type(open_store("sqlite://")).__name__
'SqliteStore'
>>> open_store("ftp://u:secret@host/items")
Traceback (most recent call last):
...
ValueError: unsupported store URI 'ftp://***@host/items': expected one of mongodb, mongodb+srv, postgres, postgresql, sqlite (sqlite:///path/to/file.db, sqlite:// in memory, mongodb://host/db, postgresql://host/db)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scrapy.utils.misc import build_from_crawler, load_object

from crawler.store.base import Store
from vocab import mask_url


def backends(settings: Any = None) -> dict[str, str]:
    """Scheme -> class path, from the settings (or the platform's defaults)."""
    if settings is None:
        from crawler.defaults.store import STORE_BACKENDS, STORE_BACKENDS_BASE

        return {**STORE_BACKENDS_BASE, **STORE_BACKENDS}
    return {k: v for k, v in settings.getwithbase("STORE_BACKENDS").items() if v}


def store_class(uri: str, schemes: Mapping[str, str]) -> type[Store]:
    scheme = uri.partition("://")[0].lower() if "://" in uri else ""
    if scheme not in schemes:
        raise ValueError(
            f"unsupported store URI {mask_url(uri)!r}: expected one of {', '.join(sorted(schemes))} "
            "(sqlite:///path/to/file.db, sqlite:// in memory, mongodb://host/db, postgresql://host/db)"
        )
    return load_object(schemes[scheme])


def open_store(uri: str, settings: Any = None) -> Store:
    """The (not yet opened) store for ``uri``, outside a crawl (commands, the data service)."""
    return store_class(uri, backends(settings))(uri)


def thread_store_factory(uri: str, settings: Any = None) -> Callable[[], Store]:
    """Unopened stores of ``uri`` for threads that each keep their own (the data service's
    workers): the backend's :meth:`Store.thread_factory`."""
    return store_class(uri, backends(settings)).thread_factory(uri)


def crawl_store(crawler: Any, uri: str | None = None) -> Store:
    """The (not yet opened) store of a crawl: ``uri``, else ``STORE_URI``."""
    uri = crawler.settings.get("STORE_URI") or "" if uri is None else uri
    return build_from_crawler(store_class(uri, backends(crawler.settings)), crawler, uri)
