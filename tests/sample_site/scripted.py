"""The sample site's pages that need JavaScript: their content arrives by script, after load.

- ``/js/list/?page=N``: an empty list the script fills from ``/api/books`` (20 a page) and a
  next link it adds when there are more;
- ``/js/scroll/``: an infinite-scroll list, 10 books more from ``/api/books`` each time the
  reader reaches the bottom, until the catalogue ends;
- ``/js/more/``: 10 books, then 10 more per click on ``button#load-more``, which goes away at
  the end;
- ``/js/book/{id}.html``: a detail page whose price arrives by XHR from ``/api/price/{id}``;
- ``/js/mixed/{id}.html``: the same detail page with its price in the HTML, but for one book in
  ``MIXED_EVERY`` (ids 10, 20...), whose price arrives by XHR (``render: auto``'s catalogue);
- ``/js/never/``: a page that never settles: the element its rule waits for never comes, and
  a request to ``/js/hang`` stays pending;
- ``/js/banner.png``: the image every page shows (rules that block images never fetch it).

A static fetch of any of them (but the static ``/js/mixed/`` pages) sees no book at all. Expected items come from
``data.catalogue(n)`` as for the static pages: ``api_item(book)`` for lists and captures.
"""

from __future__ import annotations

import asyncio
import base64
import json
from functools import lru_cache
from html import escape
from typing import Any

from aiohttp import web

from .data import Book, catalogue

HTML = {"Content-Type": "text/html; charset=utf-8"}
LIST_PAGE_SIZE = 20
SCROLL_BATCH = 10
HANG_SECONDS = 60.0
MIXED_EVERY = 10
# A 1x1 transparent PNG.
BANNER = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)

HELPERS = r"""
function esc(s) { return String(s).replace(/[&<>"]/g, function (c) {
  return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; }); }
function row(b) {
  return '<article class="book" data-id="' + b.id + '"><h3><a href="/js/book/' + b.id +
    '.html" title="' + esc(b.title) + '">' + esc(b.title) + '</a></h3><p class="price">\u00a3' +
    b.price + '</p></article>';
}
function load(offset, limit) {
  return fetch("/api/books?offset=" + offset + "&limit=" + limit).then(function (r) { return r.json(); })
    .then(function (data) {
      var list = document.querySelector("section.books");
      data.items.forEach(function (b) { list.insertAdjacentHTML("beforeend", row(b)); });
      return data;
    });
}
"""


@lru_cache(maxsize=8)
def _books(count: int) -> tuple[Book, ...]:
    return tuple(catalogue(count))


def _document(title: str, body: str, script: str) -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)} | Sample Books</title>\n"
        "<style>article.book { height: 140px; border-bottom: 1px solid #ccc; }</style>\n"
        f'</head>\n<body>\n<img id="banner" src="/js/banner.png" alt="">\n{body}\n'
        f"<script>{HELPERS}\n{script}</script>\n</body>\n</html>\n"
    ).encode()


async def js_list(request: web.Request) -> web.Response:
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise web.HTTPNotFound() from None
    total = len(_books(request.app["books"]))
    if page < 1 or (page - 1) * LIST_PAGE_SIZE >= max(total, 1):
        raise web.HTTPNotFound()
    offset = (page - 1) * LIST_PAGE_SIZE
    script = f"""
load({offset}, {LIST_PAGE_SIZE}).then(function (data) {{
  if (data.offset + data.limit < data.total) {{
    document.querySelector("nav").innerHTML = '<a class="next" href="/js/list/?page={page + 1}">next</a>';
  }}
  document.body.setAttribute("data-loaded", "1");
}});"""
    body = f'<h1>Books (page {page})</h1>\n<section class="books"></section>\n<nav></nav>'
    return web.Response(body=_document(f"Books {page}", body, script), headers=HTML)


async def js_scroll(request: web.Request) -> web.Response:
    script = f"""
var offset = 0, busy = false, done = false;
function more() {{
  if (busy || done) return;
  busy = true;
  load(offset, {SCROLL_BATCH}).then(function (data) {{
    offset += data.items.length; done = offset >= data.total || !data.items.length; busy = false;
  }});
}}
window.addEventListener("scroll", function () {{
  if (window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 50) more();
}});
more();"""
    body = '<h1>Endless books</h1>\n<section class="books"></section>'
    return web.Response(body=_document("Endless books", body, script), headers=HTML)


async def js_more(request: web.Request) -> web.Response:
    script = f"""
var offset = 0;
function more() {{
  return load(offset, {SCROLL_BATCH}).then(function (data) {{
    offset += data.items.length;
    if (offset >= data.total) document.getElementById("load-more").remove();
  }});
}}
document.getElementById("load-more").addEventListener("click", more);
more();"""
    body = (
        '<h1>More books</h1>\n<section class="books"></section>\n'
        '<button id="load-more" type="button">Load more</button>'
    )
    return web.Response(body=_document("More books", body, script), headers=HTML)


async def js_book(request: web.Request) -> web.Response:
    return _book_page(request, scripted=True)


async def js_mixed(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    return _book_page(request, scripted=raw.isdigit() and int(raw) % MIXED_EVERY == 0)


def _book_page(request: web.Request, scripted: bool) -> web.Response:
    books = _books(request.app["books"])
    raw = request.match_info["id"]
    if not raw.isdigit() or raw.startswith("0") or not 1 <= int(raw) <= len(books):
        raise web.HTTPNotFound()
    book = books[int(raw) - 1]
    script = f"""
document.body.setAttribute("data-ua", navigator.userAgent);
fetch("/api/price/{book.id}").then(function (r) {{ return r.json(); }}).then(function (p) {{
  var el = document.querySelector(".price_color");
  el.textContent = "\\u00a3" + p.price; el.setAttribute("data-currency", p.currency);
}});"""
    price = '<p class="price_color"></p>'
    if not scripted:
        script = 'document.body.setAttribute("data-ua", navigator.userAgent);'
        price = f'<p class="price_color" data-currency="GBP">\u00a3{book.price}</p>'
    body = (
        f'<div class="product_main"><h1>{escape(book.title)}</h1>'
        f"{price}"
        f'<p class="instock availability">In stock ({book.stock} available)</p></div>\n'
        f'<div id="product_description"><p>{escape(book.description)}</p></div>'
    )
    return web.Response(body=_document(book.title, body, script), headers=HTML)


async def api_price(request: web.Request) -> web.Response:
    books = _books(request.app["books"])
    raw = request.match_info["id"]
    if not raw.isdigit() or not 1 <= int(raw) <= len(books):
        raise web.HTTPNotFound()
    book = books[int(raw) - 1]
    data: dict[str, Any] = {"id": book.id, "price": book.price, "currency": "GBP"}
    return web.Response(body=json.dumps(data).encode(), content_type="application/json")


async def js_never(request: web.Request) -> web.Response:
    script = 'fetch("/js/hang").then(function () { document.body.className = "late"; });'
    body = '<h1>Still loading</h1>\n<section class="books"></section>'
    return web.Response(body=_document("Still loading", body, script), headers=HTML)


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(HANG_SECONDS)  # bounded: the site answers in the end
    return web.Response(text="{}", content_type="application/json")


async def banner(request: web.Request) -> web.Response:
    return web.Response(body=BANNER, content_type="image/png")


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/js/list/", js_list),
    ("GET", "/js/scroll/", js_scroll),
    ("GET", "/js/more/", js_more),
    ("GET", r"/js/book/{id:\d+}.html", js_book),
    ("GET", r"/js/mixed/{id:\d+}.html", js_mixed),
    ("GET", r"/api/price/{id:\d+}", api_price),
    ("GET", "/js/never/", js_never),
    ("GET", "/js/hang", hang),
    ("GET", "/js/banner.png", banner),
)
