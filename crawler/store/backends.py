"""Store backends by URI scheme, as Scrapy picks feed storages (``FEED_STORAGES``): the settings
``STORE_BACKENDS_BASE`` and ``STORE_BACKENDS`` map a scheme to a :class:`Store` class path.

>>> type(open_store("sqlite://")).__name__
'SqliteStore'
>>> open_store("ftp://u:secret@host/items")
Traceback (most recent call last):
...
ValueError: unsupported store URI 'ftp://***@host/items': expected one of mongodb, mongodb+srv, sqlite (sqlite:///path/to/file.db, sqlite:// in memory, mongodb://host/db)
"""

from __future__ import annotations

from collections.abc import Mapping
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
            "(sqlite:///path/to/file.db, sqlite:// in memory, mongodb://host/db)"
        )
    return load_object(schemes[scheme])


def open_store(uri: str, settings: Any = None) -> Store:
    """The (not yet opened) store for ``uri``, outside a crawl (commands, the data service)."""
    return store_class(uri, backends(settings))(uri)


def build_store(crawler: Any, uri: str) -> Store:
    """The store for ``uri`` in a crawl: built with ``build_from_crawler``."""
    return build_from_crawler(store_class(uri, backends(crawler.settings)), crawler, uri)
