"""The sample site's HTTP server: URL routing, the page cache, and running it in a thread.

``create_app`` builds the aiohttp application (routes in ``ROUTES`` order); ``SampleSite`` runs
one on 127.0.0.1 in a background thread with its own event loop; ``serve`` is the loop both it
and the command line (``python -m tests.sample_site``) use. Pages are rendered on first request
and their bytes kept, since the same URLs are fetched thousands of times by the benchmarks; the
big-page blog's posts (``blog``) are the exception, built on every request.

Status codes beyond the spec: ``/tag/{slug}/page/1/`` and ids or page numbers with leading zeros
are 404 (one URL per page, so crawl counts are exact); ``/error/{code}`` answers any code in
400..599; ``POST /api/search`` with another content type answers 415.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiohttp import web

from . import blog, detect, feeds, markup, members, notices, puzzles, scripted, security
from .data import (
    API_MAX_LIMIT,
    API_PAGE_SIZE,
    BOOKS_PAGE_SIZE,
    FREE_PROXIES,
    FREE_PROXY_PAGE_SIZE,
    NEWS,
    TAG_NAMES,
    TAG_PAGE_SIZE,
    TAGS,
    Book,
    api_item,
    books_in_tag,
    catalogue,
    page_slice,
    pages,
    search,
)

HTML = {"Content-Type": "text/html; charset=utf-8"}
# The GB18030 pages declare no charset anywhere, so clients have to detect it.
HTML_NO_CHARSET = {"Content-Type": "text/html"}
TEXT = {"Content-Type": "text/plain; charset=utf-8"}
# JSON bodies are pure ASCII (non-ASCII is \u-escaped), so no charset parameter can be misread.
JSON = {"Content-Type": "application/json"}


class SiteContent:
    """The catalogue a running app serves, indexed once, plus the cache of rendered pages."""

    def __init__(self, books: list[Book], posts: list[blog.Post] | None = None) -> None:
        self.books = books
        self.posts = posts or []
        self.blog_pages = pages(len(self.posts), blog.BLOG_PAGE_SIZE)
        self.by_id = {b.id: b for b in books}
        self.by_tag = {slug: books_in_tag(slug, books) for slug, _ in TAGS}
        self.tag_pages = {slug: pages(len(bs), TAG_PAGE_SIZE) for slug, bs in self.by_tag.items()}
        self.books_pages = pages(len(books), BOOKS_PAGE_SIZE)
        self.news = {n.id: n for n in NEWS}
        self._cache: dict[tuple[Any, ...], bytes] = {}

    def cached(self, key: tuple[Any, ...], render: Callable[[], bytes]) -> bytes:
        body = self._cache.get(key)
        if body is None:
            body = self._cache[key] = render()
        return body


CONTENT = web.AppKey("sample_site_content", SiteContent)
REDESIGN = web.AppKey("sample_site_redesign", bool)  # book pages in their second template


def _parse_positive(text: str) -> int | None:
    """A 1-based page number or id in canonical form ("7", never "07" or "+7"), else None."""
    # isascii(): str.isdigit() also accepts "²" and "１", which int() then rejects or misreads.
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0"):
        return None
    return int(text) or None


def _html(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers=HTML)


def _not_found() -> web.Response:
    return _html(_NOT_FOUND, status=404)


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode("ascii"), status=status, headers=JSON)


def _json_error(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status=status)


_NOT_FOUND = markup.not_found()


async def index(request: web.Request) -> web.Response:
    return _html(request.app[CONTENT].cached(("index",), markup.index))


async def tag_first_page(request: web.Request) -> web.Response:
    return _tag_page(request, request.match_info["slug"], 1)


async def tag_page(request: web.Request) -> web.Response:
    page = _parse_positive(request.match_info["page"])
    if page is None or page < 2:
        return _not_found()
    return _tag_page(request, request.match_info["slug"], page)


def _tag_page(request: web.Request, slug: str, page: int) -> web.Response:
    content = request.app[CONTENT]
    if slug not in TAG_NAMES or page > content.tag_pages[slug]:
        return _not_found()
    return _html(
        content.cached(
            ("tag", slug, page),
            lambda: markup.tag_page(
                slug,
                page_slice(content.by_tag[slug], page, TAG_PAGE_SIZE),
                page,
                content.tag_pages[slug],
            ),
        )
    )


async def all_books(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    raw = request.query.get("page")
    page = 1 if raw is None else _parse_positive(raw)
    if page is None or page > content.books_pages:
        return _not_found()
    return _html(
        content.cached(
            ("books", page),
            lambda: markup.books_page(
                page_slice(content.books, page, BOOKS_PAGE_SIZE), page, content.books_pages
            ),
        )
    )


async def book(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    book_id = _parse_positive(request.match_info["id"])
    found = content.by_id.get(book_id) if book_id is not None else None
    if found is None:
        return _not_found()
    redesign = request.app[REDESIGN]
    page = content.cached(("book", found.id, redesign), lambda: markup.book_page(found, redesign))
    return _html(page)


async def blog_first_page(request: web.Request) -> web.Response:
    return _blog_page(request, 1)


async def blog_page(request: web.Request) -> web.Response:
    page = _parse_positive(request.match_info["page"])
    if page is None or page < 2:
        return _not_found()
    return _blog_page(request, page)


def _blog_page(request: web.Request, page: int) -> web.Response:
    content = request.app[CONTENT]
    if not content.posts or page > content.blog_pages:
        return _not_found()
    return _html(content.cached(("blog", page), lambda: blog.blog_list_page(content.posts, page)))


async def blog_post(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    post_id = _parse_positive(request.match_info["id"])
    if post_id is None or not 1 <= post_id <= len(content.posts):
        return _not_found()
    # Not cached: thousands of 50-300 KB pages would cost the server hundreds of MB, and
    # building one from its pre-rendered blocks takes under a millisecond.
    return _html(blog.post_page(content.posts[post_id - 1]))


async def broken_book(request: web.Request) -> web.Response:
    return _html(markup.BROKEN_BOOK)


async def broken_page(request: web.Request) -> web.Response:
    return _html(markup.BROKEN_PAGE)


def _query_int(request: web.Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise _BadRequest(f"{name} must be {bounds}, got {value}")
    return value


class _BadRequest(Exception):
    """A request parameter is wrong; the message goes back to the client in a 400 JSON body."""


async def api_books(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    try:
        offset = _query_int(request, "offset", 0, 0, None)
        limit = _query_int(request, "limit", API_PAGE_SIZE, 1, API_MAX_LIMIT)
    except _BadRequest as exc:
        return _json_error(str(exc))
    items = [api_item(b) for b in content.books[offset : offset + limit]]
    return _json({"items": items, "offset": offset, "limit": limit, "total": len(content.books)})


def encode_cursor(offset: int) -> str:
    """The opaque cursor of ``/api/books/cursor`` that starts at ``offset``."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset in a cursor made by ``encode_cursor``; ValueError if it is not one."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"invalid cursor {cursor!r}") from None
    prefix, _, number = text.partition(":")
    if prefix != "offset" or not number.isdigit():
        raise ValueError(f"invalid cursor {cursor!r}")
    return int(number)


async def api_books_cursor(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    cursor = request.query.get("cursor", "")
    try:
        offset = decode_cursor(cursor) if cursor else 0
    except ValueError as exc:
        return _json_error(str(exc))
    end = offset + API_PAGE_SIZE
    books = [api_item(b) for b in content.books[offset:end]]
    next_cursor = encode_cursor(end) if end < len(content.books) else None
    return _json({"data": {"books": books}, "next_cursor": next_cursor})


async def api_search(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    if request.content_type == "application/json":
        kind = "json"
        try:
            fields = await request.json()
        except ValueError as exc:
            return _json_error(f"body is not valid JSON: {exc}")
        if not isinstance(fields, dict):
            return _json_error("JSON body must be an object with a 'q' field")
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        kind = "form"
        fields = dict(await request.post())
    else:
        return _json_error(
            f"unsupported content type {request.content_type!r}: send "
            "application/x-www-form-urlencoded or application/json",
            status=415,
        )
    q, tag = fields.get("q"), fields.get("tag") or None
    if not isinstance(q, str) or not q:
        return _json_error("field 'q' is required and must be a non-empty string")
    if tag is not None and not isinstance(tag, str):
        return _json_error("field 'tag' must be a string")
    return _json(
        {
            "query": q,
            "tag": tag,
            "content_type": kind,
            "api_key": "X-Api-Key" in request.headers,
            "results": [api_item(b) for b in search(content.books, q, tag)],
        }
    )


async def news_index(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    body = content.cached(("news",), lambda: markup.news_index(list(content.news.values())))
    return web.Response(body=body, headers=HTML_NO_CHARSET)


async def news_article(request: web.Request) -> web.Response:
    content = request.app[CONTENT]
    news_id = _parse_positive(request.match_info["id"])
    article = content.news.get(news_id) if news_id is not None else None
    if article is None:
        return _not_found()
    body = content.cached(("news", article.id), lambda: markup.news_page(article))
    return web.Response(body=body, headers=HTML_NO_CHARSET)


async def error(request: web.Request) -> web.Response:
    code = _parse_positive(request.match_info["code"])
    if code is None or not 400 <= code <= 599:
        return _not_found()
    return _html(markup.error_page(code), status=code)


async def free_proxies(request: web.Request) -> web.Response:
    count = pages(len(FREE_PROXIES), FREE_PROXY_PAGE_SIZE)
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise web.HTTPNotFound() from None
    if not 1 <= page <= count:
        raise web.HTTPNotFound()
    rows = page_slice(list(FREE_PROXIES), page, FREE_PROXY_PAGE_SIZE)
    return _html(markup.free_proxies_page(rows, page, count))


async def robots_txt(request: web.Request) -> web.Response:
    sitemap = f"Sitemap: {request.scheme}://{request.host}{feeds.SITEMAP_INDEX}\n".encode()
    return web.Response(body=markup.ROBOTS_TXT + sitemap, headers=TEXT)


async def private_page(request: web.Request) -> web.Response:
    return _html(request.app[CONTENT].cached(("private",), markup.private_page))


# Order matters only where a fixed path and a pattern could both match (broken-1 before {id}).
ROUTES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("GET", "/", index),
    ("GET", "/tag/{slug}/", tag_first_page),
    ("GET", "/tag/{slug}/page/{page}/", tag_page),
    ("GET", "/books/", all_books),
    ("GET", "/book/broken-1.html", broken_book),
    ("GET", r"/book/{id:\d+}.html", book),
    ("GET", "/api/books", api_books),
    ("GET", "/api/books/cursor", api_books_cursor),
    ("POST", "/api/search", api_search),
    ("GET", "/gbk/", news_index),
    ("GET", r"/gbk/{id:\d+}.html", news_article),
    ("GET", "/broken/", broken_page),
    ("GET", r"/error/{code:\d+}", error),
    ("GET", "/free-proxies/", free_proxies),
    ("GET", "/robots.txt", robots_txt),
    ("GET", "/private/secret.html", private_page),
    ("GET", "/blog/", blog_first_page),
    ("GET", "/blog/page/{page}/", blog_page),
    ("GET", r"/blog/{id:\d+}.html", blog_post),
)


@web.middleware
async def html_not_found(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    """Turn the router's plain-text 404 (no route matched) into the site's HTML 404 page."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _not_found()


def latency_middleware(latency: float) -> Callable[..., Any]:
    """Delay every response by ``latency`` seconds without blocking the event loop."""

    @web.middleware
    async def add_latency(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        await asyncio.sleep(latency)
        return await handler(request)

    return add_latency


class HostRecorder:
    """What each host (the request's Host, without its port) saw: requests, arrival times
    (monotonic seconds, the first 100,000), requests in flight now and at most. An aiohttp
    middleware (:meth:`middleware`), outermost: a request is in flight from its arrival to the
    end of its answer, latency included."""

    MAX_TIMES = 100_000

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.times: dict[str, list[float]] = {}

    @property
    def most_at_once(self) -> int:
        """The most requests any one host had in flight at the same time."""
        return max(self.max_in_flight.values(), default=0)

    def middleware(self) -> Callable[..., Any]:
        @web.middleware
        async def record(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
            host = request.host.rsplit(":", 1)[0] if request.host else ""
            self.requests[host] = self.requests.get(host, 0) + 1
            times = self.times.setdefault(host, [])
            if len(times) < self.MAX_TIMES:
                times.append(time.monotonic())
            now = self.in_flight.get(host, 0) + 1
            self.in_flight[host] = now
            self.max_in_flight[host] = max(self.max_in_flight.get(host, 0), now)
            try:
                return await handler(request)
            finally:
                self.in_flight[host] -= 1

        return record


def create_app(
    books: int = 60,
    *,
    latency: float = 0.0,
    middlewares: Sequence[Any] = (),
    big_pages: int = 0,
    outer: Sequence[Any] = (),
    redesign: bool = False,
) -> web.Application:
    """The sample site serving ``catalogue(books)``, and ``blog.posts(big_pages)`` under /blog/.

    ``latency`` (seconds) delays every response, 404s and rejections by ``middlewares``
    included. ``middlewares`` (aiohttp ``@web.middleware`` callables, e.g. an anti-bot mode) run
    inside the latency and outside the HTML 404 page, so they see every response the site makes.
    The catalogue size is ``app["books"]`` and the latency ``app["latency"]``. ``big_pages``
    (0: none, /blog/ is 404) is the number of long posts of the big-page mode (see ``blog``).
    """
    if books < 0:
        raise ValueError(f"books must be >= 0, got {books}")
    if latency < 0:
        raise ValueError(f"latency must be >= 0, got {latency}")
    chain: list[Any] = [*outer]  # outside the latency (HostRecorder)
    chain += [latency_middleware(latency)] if latency > 0 else []
    chain += [*middlewares, html_not_found]
    app = web.Application(middlewares=chain)
    app[CONTENT] = SiteContent(catalogue(books), blog.posts(big_pages))
    app[REDESIGN] = redesign  # the site changed its template: same books, other markup
    with warnings.catch_warnings():
        # Plain string keys are the documented way for other components to read these two.
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["books"] = books
        app["latency"] = latency
    # then the pages needing JavaScript, the security blog (captchas in articles), the sitemaps
    # and feeds, the notices with their attachments, and the headless-detection page
    routes = ROUTES + scripted.ROUTES + security.ROUTES + feeds.ROUTES + notices.ROUTES
    routes += detect.ROUTES + members.ROUTES + puzzles.ROUTES
    for method, path, handler in routes:
        if method == "GET":
            app.router.add_get(path, handler)  # answers HEAD too
        else:
            app.router.add_route(method, path, handler)
    return app


def loopback_hosts(count: int) -> list[str]:
    """``count`` loopback addresses of their own: 127.0.1.1, 127.0.1.2, ... (250 per /24, so
    no address ends in .0 or .255). Linux routes all of 127.0.0.0/8 to the loopback interface.

    >>> loopback_hosts(3), loopback_hosts(251)[-1]
    (['127.0.1.1', '127.0.1.2', '127.0.1.3'], '127.0.2.1')
    """
    if not 0 <= count <= 250 * 254:
        raise ValueError(f"between 0 and {250 * 254} loopback addresses, not {count}")
    return [f"127.0.{1 + n // 250}.{1 + n % 250}" for n in range(count)]


async def serve(
    app: web.Application,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[str], None],
    also: Sequence[str] = (),
) -> None:
    """Serve ``app`` until ``stop`` is set; ``on_ready(base_url)`` once it accepts connections
    (on ``host``, and on each address of ``also`` at the same port: one site, many hosts)."""
    # access_log=None: nothing per request, the CLI's stdout carries only the URL.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        for other in also:
            await web.TCPSite(runner, other, bound_port).start()
        on_ready(f"http://{_url_host(bound_host)}:{bound_port}")
        await stop.wait()
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class SampleSite:
    """The sample site served from a background thread (its own event loop) on 127.0.0.1.

    >>> with SampleSite(books=5) as site:
    ...     site.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        books: int = 60,
        latency: float = 0.0,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        middlewares: Iterable[Any] = (),
        big_pages: int = 0,
        record_hosts: bool = False,
        hosts: int = 0,
        redesign: bool = False,
    ) -> None:
        self.redesign = redesign
        self.books = books
        # ``hosts`` > 0: served on that many loopback addresses (loopback_hosts), ``host`` unused
        self.hosts = loopback_hosts(hosts)
        if self.hosts:
            host = self.hosts[0]
        # what each host saw (HostRecorder), when asked for: outermost, latency included
        self.recorder = HostRecorder() if record_hosts else None
        self.big_pages = big_pages
        self.latency = latency
        self.host = host
        self.port = port
        self.middlewares = tuple(middlewares)
        self.url: str | None = None
        self.app: web.Application | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; return the base URL (``http://127.0.0.1:PORT``, no trailing slash)."""
        if self.url is not None:
            return self.url
        outer = (self.recorder.middleware(),) if self.recorder is not None else ()
        self.app = create_app(
            self.books,
            latency=self.latency,
            middlewares=self.middlewares,
            big_pages=self.big_pages,
            outer=outer,
            redesign=self.redesign,
        )
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="sample-site", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"sample site did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            raise RuntimeError(f"sample site failed to start: {self._error}") from self._error
        assert self.url is not None
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread; safe to call twice or before ``start``."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            # The loop may close between the check and the call: then it is already stopping.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None
        self.url = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        assert self.app is not None
        self._stop = asyncio.Event()

        def ready(url: str) -> None:
            self.url = url
            self.port = int(url.rsplit(":", 1)[1])
            self._ready.set()

        await serve(self.app, self.host, self.port, self._stop, ready, also=self.hosts[1:])

    @property
    def urls(self) -> list[str]:
        """The base URL of every address the site is served on (``url`` alone by default)."""
        assert self.url is not None
        return [f"http://{host}:{self.port}" for host in self.hosts] or [self.url]

    def __enter__(self) -> SampleSite:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
