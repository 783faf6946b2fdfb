"""The documents that list a site's pages: sitemaps and sitemap indexes (plain or gzip), the
``Sitemap:`` lines of a robots.txt, RSS 2.0 and Atom feeds, read into entries (a URL and when
it last changed, as written).

Sitemaps and robots.txt are read by Scrapy's own readers (``scrapy.utils.sitemap``, which its
``SitemapSpider`` uses); feeds by lxml with the same safe options: no entity expansion, no
network, no DTD, lxml's bounds on tree depth and text size (a feed declaring entities is not
read: libxml2 expands them in attributes whatever the options). A document that only parses with
recovery still gives what it holds, and says so (:meth:`Document.malformed`). A gzip body is
inflated up to a bound (:func:`document_body`), and no document gives more than
:data:`MAX_ENTRIES` entries.

>>> body = (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
...         b'<loc>http://a.test/1</loc><lastmod>2024-05-01</lastmod></url></urlset>')
>>> doc = read_sitemap(body)
>>> doc.kind, list(doc.entries), doc.malformed()
('urlset', [Entry(url='http://a.test/1', lastmod='2024-05-01')], None)
"""

from __future__ import annotations

import calendar
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from io import BytesIO
from itertools import islice
from typing import Any

import lxml.etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

# Entries read from one document at most: the sitemap protocol's own limit of a sitemap's URLs
# (and of an index's sitemaps); feeds list far fewer.
MAX_ENTRIES = 50_000
# The inflated size of a gzip sitemap when DOWNLOAD_MAXSIZE sets none: the protocol's 50 MiB.
PROTOCOL_MAX_BYTES = 50 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
FEED_ROOTS = ("rss", "feed", "RDF")  # RSS 2.0 (and 0.9x), Atom, RSS 1.0


class ListingError(ValueError):
    """A document that lists nothing: ``reason`` is the stat key's last part."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    url: str  # as written (relative URLs are resolved by the reader)
    lastmod: str | None = None  # as written: a sitemap's <lastmod>, a feed entry's date


class Document:
    """A read document: its ``kind`` (``urlset``, ``sitemapindex``, ``robots``, ``feed``) and its
    entries, read lazily; :meth:`malformed` once they have been read."""

    def __init__(self, kind: str, entries: Iterator[Entry], parser: Any = None) -> None:
        self.kind = kind
        self._parser = parser
        self._failure: str | None = None
        self.entries = islice(self._guarded(entries), MAX_ENTRIES)

    def _guarded(self, entries: Iterator[Entry]) -> Iterator[Entry]:
        try:
            yield from entries
        except lxml.etree.LxmlError as exc:
            self._failure = str(exc) or type(exc).__name__

    def malformed(self) -> str | None:
        """Why the document needed recovery to read (the first parse error), else None."""
        if self._failure:
            return self._failure
        errors = getattr(self._parser, "error_log", None) or ()
        first = next(iter(errors), None)
        return f"{first.message.strip()} (line {first.line})" if first is not None else None


def document_body(body: bytes, max_size: int) -> bytes:
    """``body``, inflated when it is gzip (a ``.xml.gz`` sitemap) to at most ``max_size`` bytes
    (0: the protocol's 50 MiB); a body sent with ``Content-Encoding: gzip`` arrives inflated."""
    if not body.startswith(GZIP_MAGIC):
        return body
    limit = max_size or PROTOCOL_MAX_BYTES
    try:
        return gunzip(body, max_size=limit)
    except ValueError:  # Scrapy's size check (_DecompressionMaxSizeExceeded is a ValueError)
        raise ListingError("too_large", f"inflates to more than {limit:,} bytes") from None
    except (OSError, EOFError, struct.error) as exc:
        raise ListingError("malformed", f"broken gzip data ({exc})") from None


def read_sitemap(body: bytes) -> Document:
    """A sitemap (``urlset``) or a sitemap index (``sitemapindex``)."""
    try:
        sitemap = Sitemap(body)
    except (StopIteration, lxml.etree.LxmlError) as exc:
        raise ListingError("malformed", f"not XML ({str(exc) or 'no element'})") from None
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise ListingError(
            "not_a_sitemap", f"not a sitemap: its root is <{sitemap.type or '?'}>, not <urlset>"
        )
    entries = (Entry(d["loc"], d.get("lastmod") or None) for d in sitemap if d.get("loc"))
    return Document(sitemap.type, entries, sitemap.xmliter)


def read_robots(body: bytes, url: str) -> Document:
    """The sitemaps a robots.txt names on its ``Sitemap:`` lines."""
    return Document("robots", (Entry(u) for u in sitemap_urls_from_robots(body, base_url=url)))


def read_feed(body: bytes) -> Document:
    """An RSS or Atom feed: each item's (entry's) page and date."""
    parser = lxml.etree.iterparse(
        BytesIO(body),
        events=("start", "end"),
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        _, root = next(parser)
    except (StopIteration, lxml.etree.LxmlError) as exc:
        raise ListingError("malformed", f"not XML ({str(exc) or 'no element'})") from None
    name = local_name(root)
    if name not in FEED_ROOTS:
        raise ListingError("not_a_feed", f"not an RSS or Atom feed: its root is <{name or '?'}>")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and next(iter(dtd.iterentities()), None) is not None:
        # left unexpanded in text, but libxml2 expands them in attributes (an Atom link's href)
        raise ListingError("malformed", "it declares entities in its DOCTYPE, which no feed needs")
    return Document("feed", _feed_entries(parser), parser)


def _feed_entries(parser: Any) -> Iterator[Entry]:
    for event, element in parser:
        if event != "end" or local_name(element) not in ("item", "entry"):
            continue
        entry = feed_entry(element)
        element.clear()
        parent = element.getparent()
        if parent is not None:  # what was read goes, so a long feed holds one entry at a time
            while element.getprevious() is not None:
                del parent[0]
        if entry is not None:
            yield entry


def feed_entry(element: Any) -> Entry | None:
    """An RSS ``<item>`` or an Atom ``<entry>``: its page (``<link>``, an Atom link's ``href``
    with rel ``alternate``, else a permalink ``<guid>``) and date (Atom's ``updated``, else
    ``published``; RSS's ``pubDate`` or ``dc:date``)."""
    link = guid = None
    dates: dict[str, str] = {}
    for child in element:
        name = local_name(child)
        text = (child.text or "").strip()
        if name == "link" and link is None:
            href = child.get("href")
            if href is not None:
                if child.get("rel", "alternate") == "alternate":
                    link = href.strip()
            elif text:
                link = text
        elif name == "guid" and text and child.get("isPermaLink", "true") != "false":
            guid = text
        elif name in ("updated", "published", "pubDate", "date") and text:
            dates.setdefault(name, text)
    url = link or guid
    if not url:
        return None
    date = next((dates[k] for k in ("updated", "published", "pubDate", "date") if k in dates), None)
    return Entry(url, date)


def local_name(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def parse_date(text: str) -> float | None:
    """When a listed page last changed, in seconds since the epoch; None when ``text`` is no
    date. W3C datetimes (sitemaps, Atom) and RFC 822 dates (RSS); a date without a time (or a
    month, a year) counts as the end of its period, so a page changed later on the day it was
    fetched is not missed; a time without a zone is UTC.

    >>> parse_date("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, tzinfo=UTC).timestamp()
    True
    >>> parse_date("2024-05-01") == datetime(2024, 5, 2, tzinfo=UTC).timestamp() - 1
    True
    >>> parse_date("2024-02") == datetime(2024, 3, 1, tzinfo=UTC).timestamp() - 1
    True
    >>> parse_date("Wed, 01 May 2024 10:00:00 GMT") == datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()
    True
    >>> parse_date("yesterday") is None
    True
    """
    text = text.strip()
    coarse = _coarse_date(text)
    if coarse is not None:
        return coarse
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _coarse_date(text: str) -> float | None:
    """YYYY, YYYY-MM, YYYY-MM-DD: the last second of that year, month or day (UTC)."""
    parts = text.split("-")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else 12
    try:
        last_day = calendar.monthrange(year, month)[1]
        day = int(parts[2]) if len(parts) > 2 else last_day
        end = datetime(year, month, day, 23, 59, 59, tzinfo=UTC)
    except ValueError:
        return None
    return end.timestamp()
