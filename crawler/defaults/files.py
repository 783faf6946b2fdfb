"""Files and attachments: a rule's ``files:`` fields (crawler/files; docs/files.md).

A rule says which links of a page are files, which types it wants, how big one may be and
whether to read its text; where files are kept and how far any rule may go are the project's
(a rule never names a file, a directory or a class).
"""

from vocab.datadir import data_dir

FILES_ENABLED = True  # download the files of a rule's `files:` fields (off: the URLs stay)
# Where files are kept: a directory (a plain path or file:///abs/path); other schemes go to
# FILES_STORE_BACKENDS (object storage), as the item store's STORE_BACKENDS.
FILES_STORE = str(data_dir / "files")
FILES_STORE_BACKENDS_BASE = {
    "": "crawler.files.store.DirectoryFileStore",
    "file": "crawler.files.store.DirectoryFileStore",
}
FILES_STORE_BACKENDS: dict[str, str] = {}
FILES_MAX_BYTES = 20 * 1000 * 1000  # one file, when its field gives no max_size
FILES_LIMIT_BYTES = 100 * 1000 * 1000  # the most any field's max_size may ask for
FILES_PER_ITEM = 50  # files of one field of one item; beyond: refused (too_many)
# Zip-based files (docx, xlsx, pptx, zip): refused as a bomb before anything is extracted when
# the sizes their directory declares add up to more than this, or inflate more than
# FILES_UNZIP_MAX_RATIO times beyond the file's own max size, or list too many members.
FILES_UNZIP_MAX_BYTES = 200 * 1000 * 1000
FILES_UNZIP_MAX_RATIO = 100.0
FILES_UNZIP_MAX_MEMBERS = 10_000
FILES_TEXT_MAX_CHARS = 100_000  # text read from one file (text: true)
FILES_TEXT_MAX_PAGES = 200  # PDF pages read for text
FILES_TEXT_MAX_ROWS = 20_000  # spreadsheet rows read for text, all sheets together
FILES_MEMO_URLS = 256  # file records remembered by URL: a file linked again is not fetched again

minimums = {
    "FILES_MAX_BYTES": 1,
    "FILES_LIMIT_BYTES": 1,
    "FILES_PER_ITEM": 1,
    "FILES_UNZIP_MAX_BYTES": 1,
    "FILES_UNZIP_MAX_RATIO": 1,
    "FILES_UNZIP_MAX_MEMBERS": 1,
    "FILES_TEXT_MAX_CHARS": 0,
    "FILES_TEXT_MAX_PAGES": 0,
    "FILES_TEXT_MAX_ROWS": 0,
    "FILES_MEMO_URLS": 0,
}
