"""The sample site's sitemaps and feeds: documents listing its book and news pages, with dates.

- ``/sitemap_index.xml``: a sitemap index naming the two sitemaps below (robots.txt names it on
  a ``Sitemap:`` line);
- ``/sitemaps/books.xml.gz``: every book page, a gzip file (``application/x-gzip``, no
  Content-Encoding); each ``<lastmod>`` is the book's published date;
- ``/sitemaps/news.xml``: the news pages (``/gbk/{id}.html``), sent gzip-encoded
  (``Content-Encoding: gzip``), ``<lastmod>`` their published date;
- ``/sitemaps/broken.xml``: a sitemap cut off after its first two books, then garbage;
- ``/feeds/books.atom``: an Atom feed of every book (``updated`` and ``published``: its
  published date, at noon UTC);
- ``/feeds/news.rss``: an RSS 2.0 feed of the news (``pubDate``).

Every document takes ``?updated=ID,ID``: the books and news with those ids changed at the time
of the request (their date says so); an index passes the query on to the sitemaps it names.
Book dates are the catalogue's (``data.catalogue(n)``), all long past.
"""

from __future__ import annotations

import datetime
import gzip
from collections.abc import Iterable
from email.utils import format_datetime
from functools import lru_cache
from html import escape

from aiohttp import web

from .data import NEWS, Book, catalogue

SITEMAP_INDEX = "/sitemap_index.xml"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML = {"Content-Type": "application/xml; charset=utf-8"}


@lru_cache(maxsize=8)
def _books(count: int) -> tuple[Book, ...]:
    return tuple(catalogue(count))


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _updated(request: web.Request) -> set[int]:
    return {int(p) for p in request.query.get("updated", "").split(",") if p.strip().isdigit()}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def _urlset(rows: Iterable[tuple[str, str]]) -> bytes:
    urls = "".join(
        f"<url><loc>{escape(loc)}</loc><lastmod>{lastmod}</lastmod></url>\n"
        for loc, lastmod in rows
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{urls}</urlset>\n'.encode()


def _book_rows(request: web.Request) -> list[tuple[str, str]]:
    base, updated, now = _base(request), _updated(request), _now()
    books = _books(request.app["books"])
    return [(base + b.url, now if b.id in updated else b.published.isoformat()) for b in books]


async def sitemap_index(request: web.Request) -> web.Response:
    query = f"?{request.query_string}" if request.query_string else ""
    names = "".join(
        f"<sitemap><loc>{escape(_base(request) + path + query)}</loc></sitemap>\n"
        for path in ("/sitemaps/books.xml.gz", "/sitemaps/news.xml")
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n{names}</sitemapindex>\n'
    return web.Response(body=body.encode(), headers=XML)


async def books_sitemap(request: web.Request) -> web.Response:
    body = gzip.compress(_urlset(_book_rows(request)), mtime=0)
    return web.Response(body=body, headers={"Content-Type": "application/x-gzip"})


async def news_sitemap(request: web.Request) -> web.Response:
    base, updated, now = _base(request), _updated(request), _now()
    rows = [(base + n.url, now if n.id in updated else n.published.isoformat()) for n in NEWS]
    body = gzip.compress(_urlset(rows), mtime=0)
    return web.Response(body=body, headers={**XML, "Content-Encoding": "gzip"})


async def broken_sitemap(request: web.Request) -> web.Response:
    whole = _urlset(_book_rows(request)[:2]).decode()
    body = whole.replace("</urlset>", "<url><loc>&&<<garbage")
    return web.Response(body=body.encode(), headers=XML)


async def books_atom(request: web.Request) -> web.Response:
    base, updated, now = _base(request), _updated(request), _now()
    entries = []
    for b in _books(request.app["books"]):
        published = f"{b.published.isoformat()}T12:00:00Z"
        entries.append(
            f"<entry><title>{escape(b.title)}</title><id>urn:book:{b.id}</id>"
            f'<link rel="alternate" type="text/html" href="{escape(base + b.url)}"/>'
            f"<updated>{now if b.id in updated else published}</updated>"
            f"<published>{published}</published></entry>\n"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>Sample Books</title><id>urn:sample-books</id><updated>{_now()}</updated>\n"
        f'<link rel="self" href="{escape(base)}/feeds/books.atom"/>\n{"".join(entries)}</feed>\n'
    )
    return web.Response(body=body.encode(), headers={"Content-Type": "application/atom+xml"})


async def news_rss(request: web.Request) -> web.Response:
    base, updated = _base(request), _updated(request)
    now = datetime.datetime.now(datetime.UTC)
    items = []
    for n in NEWS:
        day = datetime.datetime(*n.published.timetuple()[:3], 8, tzinfo=datetime.UTC)
        when = format_datetime(now if n.id in updated else day, usegmt=True)
        items.append(
            f"<item><title>{escape(n.title)}</title><link>{escape(base + n.url)}</link>"
            f"<pubDate>{when}</pubDate></item>\n"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Sample News</title><link>{escape(base)}/gbk/</link>\n{''.join(items)}"
        "</channel></rss>\n"
    )
    return web.Response(body=body.encode(), headers={"Content-Type": "application/rss+xml"})


ROUTES: tuple[tuple[str, str, object], ...] = (
    ("GET", SITEMAP_INDEX, sitemap_index),
    ("GET", "/sitemaps/books.xml.gz", books_sitemap),
    ("GET", "/sitemaps/news.xml", news_sitemap),
    ("GET", "/sitemaps/broken.xml", broken_sitemap),
    ("GET", "/feeds/books.atom", books_atom),
    ("GET", "/feeds/news.rss", news_rss),
)
