"""Files and attachments: a rule's ``files:`` fields downloaded through the crawl, sniffed,
bounded, stored once by content hash, their text read (docs/files.md).

- :mod:`.pipeline`: ``FilesPipeline``, which fetches an item's files through Scrapy's engine;
- :mod:`.policy`: what a file must be to be kept, and its record;
- :mod:`.sniff`: types from content (magic bytes, zip directories), decompression bombs;
- :mod:`.names`: file names from Content-Disposition or URL, sanitised;
- :mod:`.text`: text of PDF, DOCX and XLSX files, bounded;
- :mod:`.store`: the ``FileStore`` seam and its directory backend.
"""

from crawler.files.names import sanitise_name
from crawler.files.sniff import CONTENT_TYPES, TYPE_OF_EXTENSION, sniff
from crawler.files.store import (
    DirectoryFileStore,
    FileStore,
    file_store_from_settings,
    is_sha,
    open_file_store,
)

__all__ = [
    "CONTENT_TYPES",
    "TYPE_OF_EXTENSION",
    "DirectoryFileStore",
    "FileStore",
    "file_store_from_settings",
    "is_sha",
    "open_file_store",
    "sanitise_name",
    "sniff",
]
