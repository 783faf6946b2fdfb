"""The bundled sample site: a small, deterministic HTTP server the demo, tests and benchmarks crawl.

``data`` owns the content (and how a test derives expected items), ``markup`` the HTML,
``blog`` the big-page mode (long posts under /blog/), ``feeds`` its sitemaps and feeds,
``server`` the routes and the threaded runner; ``python -m tests.sample_site`` serves it in the
foreground. Typical use::

    with SampleSite(books=60) as site:
        crawl(site.url + "/tag/misc/")
"""

from .data import BROKEN_LINKS, NEWS, TAGS, Book, News, catalogue, short_title
from .server import SampleSite, create_app

__all__ = [
    "BROKEN_LINKS",
    "NEWS",
    "TAGS",
    "Book",
    "News",
    "SampleSite",
    "catalogue",
    "create_app",
    "short_title",
]
