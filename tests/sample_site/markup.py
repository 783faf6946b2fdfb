"""The sample site's markup: pure functions from data to response bytes.

Nothing here knows about HTTP or caching; ``server`` decides which page a URL is and keeps the
bytes. All text goes through ``html.escape`` so titles with ``&``, ``<`` and quotes arrive intact.
The deliberately malformed pages (``BROKEN_BOOK``, ``BROKEN_PAGE``) are the one exception.
"""

from __future__ import annotations

import json
from html import escape

from .data import (
    BROKEN_ROWS,
    NEWS_INTRO,
    RATING_WORDS,
    TAG_NAMES,
    TAGS,
    Book,
    News,
    chinese_date,
    short_title,
)

GBK_ENCODING = "gb18030"


def _document(title: str, body: str, *, lang: str = "en") -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)} | Sample Books</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    ).encode()


def index() -> bytes:
    items = "\n".join(
        f'<li><a class="tag" href="/tag/{slug}/">{escape(name)}</a></li>' for slug, name in TAGS
    )
    body = (
        f'<h1>Sample Books</h1>\n<ul class="tags">\n{items}\n</ul>\n'
        '<p><a id="all-books" href="/books/">All books</a></p>\n'
        '<p><a id="api" href="/api/books">API</a></p>\n'
        '<p><a id="news" href="/gbk/">新闻</a></p>'
    )
    return _document("Tags", body)


def _book_row(key: str, href: str, title: str, price: str, rating: int) -> str:
    return (
        f'<article class="book" data-id="{escape(key)}"><h3><a href="{href}" title="{escape(title)}">'
        f"{escape(short_title(title))}</a></h3>"
        f'<p class="price">£{price}</p><p class="star-rating {RATING_WORDS[rating]}"></p></article>'
    )


def tag_page(slug: str, books: list[Book], page: int, pages: int) -> bytes:
    """One page of a tag listing; the next link is relative (``page/2/``, then ``../{n+1}/``)."""
    rows = [_book_row(str(b.id), b.url, b.title, b.price, b.rating) for b in books]
    if slug == "misc" and page == pages:
        rows += [_book_row(r.key, r.path, r.title, r.price, r.rating) for r in BROKEN_ROWS]
    parts = [f"<h1>{escape(TAG_NAMES[slug])}</h1>", '<section class="books">', *rows, "</section>"]
    if page < pages:
        href = "page/2/" if page == 1 else f"../{page + 1}/"
        parts.append(f'<ul class="pager"><li class="next"><a href="{href}">next</a></li></ul>')
    return _document(f"{TAG_NAMES[slug]} (page {page})", "\n".join(parts))


def books_page(books: list[Book], page: int, pages: int) -> bytes:
    """One page of the all-books table: the page count is in the pager, there is no next link."""
    rows = "\n".join(
        f'<tr class="row"><td class="title"><a href="{b.url}">{escape(b.title)}</a></td>'
        f'<td class="price">£{b.price}</td></tr>'
        for b in books
    )
    body = (
        f'<h1>All books</h1>\n<table class="books">\n{rows}\n</table>\n'
        f'<div class="pager" data-pages="{pages}">Page {page} of {pages}</div>'
    )
    return _document(f"All books (page {page})", body)


def _json_for_script(data: object) -> str:
    # Escaping <, > and & keeps a title like "Less <b>Is</b>" or "</script>" from ending the block.
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def book_page(book: Book, redesign: bool = False) -> bytes:
    """A detail page. It deliberately carries no rating: rules must bring it from the list.
    ``redesign``: the same book in the site's second template (other elements and classes: what
    `scrapy rules repair` finds the fields in again)."""
    ld = {
        "@context": "https://schema.org",
        "@type": "Book",
        "name": book.title,
        "sku": book.upc,
        "offers": {"price": book.price, "priceCurrency": "GBP"},
    }
    if redesign:
        return _document(book.title, _redesigned(book, ld))
    body = (
        f'<div class="product_main"><h1>{escape(book.title)}</h1>'
        f'<p class="price_color">£{book.price}</p>'
        f'<p class="instock availability">In stock ({book.stock} available)</p></div>\n'
        f'<div id="product_description"><p>{escape(book.description)}</p></div>\n'
        f'<table class="product_info"><tr><th>UPC</th><td>{book.upc}</td></tr>'
        f"<tr><th>Published</th><td>{chinese_date(book.published)}</td></tr>"
        f'<tr><th>Tag</th><td><a href="/tag/{book.tag}/">{escape(TAG_NAMES[book.tag])}</a></td></tr>'
        "</table>\n"
        f'<script type="application/ld+json">{_json_for_script(ld)}</script>'
    )
    return _document(book.title, body)


def _redesigned(book: Book, ld: dict) -> str:
    return (
        f'<section class="book-hero"><h2 class="book-title">{escape(book.title)}</h2>'
        f'<div class="cost"><span class="amount">£{book.price}</span></div>'
        f'<p class="stock-level">In stock ({book.stock} available)</p></section>\n'
        f'<div class="about"><p>{escape(book.description)}</p></div>\n'
        f'<dl class="facts"><dt>UPC</dt><dd>{book.upc}</dd>'
        f"<dt>Published</dt><dd>{chinese_date(book.published)}</dd>"
        f'<dt>Tag</dt><dd><a href="/tag/{book.tag}/">{escape(TAG_NAMES[book.tag])}</a></dd></dl>\n'
        f'<script type="application/ld+json">{_json_for_script(ld)}</script>'
    )


def _gbk_document(title: str, body: str) -> bytes:
    # No <meta charset> and no http-equiv on purpose: clients must detect the encoding.
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<title>{escape(title)}</title>\n</head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    ).encode(GBK_ENCODING)


def news_index(news: list[News]) -> bytes:
    links = "\n".join(
        f'<li><a class="news" href="{n.url}">{escape(n.title)}</a></li>' for n in news
    )
    body = f'<h1>新闻</h1>\n<p class="intro">{escape(NEWS_INTRO)}</p>\n<ul>\n{links}\n</ul>'
    return _gbk_document("新闻", body)


def news_page(article: News) -> bytes:
    body = (
        f"<h1>{escape(article.title)}</h1>\n"
        f'<div class="content"><p>{escape(article.body)}</p></div>\n'
        f'<span class="date">{chinese_date(article.published)}</span>'
    )
    return _gbk_document(article.title, body)


# Malformed on purpose: no <h1>, no price, unclosed and mismatched tags, a raw "<" and "&",
# a stray </div>, a <td> outside any table, invalid UTF-8 under a utf-8 declaration, and the
# document cut off in the middle of a tag. It still carries the stock line and the description.
BROKEN_BOOK = (
    b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>A Book That Will Not Parse</title>\n'
    b"<body>\n"
    b'<div class="product_main">\n'
    b'<h2 class="subtitle">Bound in <em>calf</h3>\n'
    b'<p class="instock availability">In stock (3 available)</p>\n'
    b"</div></div>\n"
    b'<div id="product_description"><p>When x < y & y < z, the shelf is sorted. '
    b"<b>Bold <i>and italic</b> overlap</i>.\n"
    b"<td>an orphan cell</td>\n"
    b"<p>Bytes that are not UTF-8: \xff\xfe\xc3\x28 \xe2\x82 end of bytes.\n"
    b'<ul class="notes"><li>first<li>second & third\n'
    b'<table class="product_info"><tr><th>UPC<td>00000000deadbeef\n'
    b'<a href="/book/1.html">see also</a>\n'
    b'<img src="/cover.png" alt=cover>\n'
    b'<a href="/book/2.ht'
)

# /broken/: the same spirit, linked from nowhere, for preview and parser tests. What survives
# parsing is documented in the site's tests: the <h1>, three li.item and two links.
BROKEN_PAGE = (
    b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Broken page</title>\n'
    b"<body><div id=main>\n"
    b'<h1 class="title">Broken but readable\n'
    b'<ul class="items"><li class="item">Alpha<li class="item">Beta & Gamma'
    b'<li class="item">Delta < Epsilon</ul>\n'
    b"</div></div></span>\n"
    b'<td class="orphan">cell without a table</td>\n'
    b"<p>Bad bytes: \xc3\x28\xa0\xa1 \xf0\x28\x8c\xbc and on.\n"
    b"<p>Unquoted <a href=/book/1.html class=link>first book</a> and "
    b'<a href="/book/2.html" class="link">second book\n'
    b'<script>if (a < b && c > d) { document.write("</div>"); }</script>\n'
    b'<div class="footer"><p>Cut off here <span title="unterminated'
)


def not_found() -> bytes:
    return _document("Not found", "<h1>404 Not Found</h1>\n<p>Nothing lives at this address.</p>")


def error_page(status: int) -> bytes:
    return _document(
        f"Error {status}", f"<h1>Error {status}</h1>\n<p>The server failed on purpose.</p>"
    )


def private_page() -> bytes:
    return _document(
        "Private", '<h1>Private</h1>\n<p class="secret">Robots should not have fetched this.</p>'
    )


ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"


def free_proxies_page(rows: list, page: int, pages: int) -> bytes:
    """A free-proxy list page: a table with a header row and an ad row mixed in, and a next link."""
    cells = [
        "<tr><th>IP Address</th><th>Port</th><th>Code</th><th>Country</th><th>Anonymity</th>"
        "<th>Https</th><th>Last Checked</th></tr>"
    ]
    for i, p in enumerate(rows):
        cells.append(
            f"<tr><td>{p.host}</td><td>{p.port}</td><td>{p.code}</td><td>{escape(p.country)}</td>"
            f"<td>{p.anonymity}</td><td class='hx'>{'yes' if p.https else 'no'}</td><td>{i + 1} mins ago</td></tr>"
        )
        if i == 4:
            cells.append('<tr class="ad"><td colspan="7">Buy premium proxies!</td></tr>')
    body = f'<h1>Free Proxy List</h1>\n<table id="proxylisttable">\n{"".join(cells)}\n</table>'
    if page < pages:
        body += f'\n<a class="next" href="/free-proxies/?page={page + 1}">Next</a>'
    return _document(f"Free proxies (page {page})", body)
