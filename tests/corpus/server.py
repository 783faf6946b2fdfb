"""Serve the corpus of real web pages (tests/corpus/sites) on loopback, one port per site.

Each site is served from its own root on ``127.0.0.1`` at a port of its own, so its
root-relative links (``/2018/05/29/slug/``) resolve as they did on the original host and no
site can reach another's pages. ``serve_corpus()`` starts every site in one background thread
(its own asyncio loop) and yields ``{site_id: base_url}``; base URLs have no trailing slash.

The server behaves like a static host: ``/dir/`` serves ``dir/index.html``, ``/dir`` answers 301
to ``/dir/`` when that directory has an index (GitHub Pages and Apache do the same), HTML is
sent as ``text/html; charset=<the site's encoding>`` (``encoding`` in its expected.json, UTF-8
by default), query strings are ignored, and everything else, expected.json included, is 404.

>>> with serve_corpus() as sites:
...     sorted(sites) == sorted(site_ids()) and all(u.startswith("http://127.0.0.1:") for u in sites.values())
True
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from aiohttp import web

SITES = Path(__file__).resolve().parent / "sites"
EXPECTED = "expected.json"
SITE_ROOT: web.AppKey[Path] = web.AppKey("site_root", Path)
SITE_ENCODING: web.AppKey[str] = web.AppKey("site_encoding", str)


def site_ids() -> list[str]:
    """Every site of the corpus: the folders of sites/ that hold an expected.json."""
    return sorted(p.name for p in SITES.iterdir() if (p / EXPECTED).is_file())


def expected(site: str) -> dict:
    """The site's expected.json: kind, start, lang, lists, detail_pattern, details."""
    return json.loads((SITES / site / EXPECTED).read_text(encoding="utf-8"))


def resolve(root: Path, path: str) -> tuple[Path | None, str | None]:
    """The file a URL path names under ``root``, or the path to redirect to; (None, None): 404.

    >>> resolve(SITES / "jekyll-crail", "/blog/page2")
    (None, '/blog/page2/')
    >>> resolve(SITES / "jekyll-crail", "/blog/../../server.py")
    (None, None)
    """
    parts = PurePosixPath(path).parts[1:]
    if any(part in ("..", ".") or "\\" in part for part in parts):
        return None, None
    target = root.joinpath(*parts)
    if path.endswith("/"):
        target = target / "index.html"
    elif target.is_dir():
        return (None, path + "/") if (target / "index.html").is_file() else (None, None)
    if target.name == EXPECTED and target.parent == root or not target.is_file():
        return None, None
    return target, None


async def handle(request: web.Request) -> web.StreamResponse:
    root = request.app[SITE_ROOT]
    target, redirect = resolve(root, request.path)
    if redirect is not None:
        raise web.HTTPMovedPermanently(location=redirect)
    if target is None:
        raise web.HTTPNotFound()
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = {"Content-Type": content_type}
    if content_type == "text/html":
        headers["Content-Type"] = f"text/html; charset={request.app[SITE_ENCODING]}"
    return web.Response(body=target.read_bytes(), headers=headers)


def create_app(site: str) -> web.Application:
    app = web.Application()
    app[SITE_ROOT] = SITES / site
    app[SITE_ENCODING] = expected(site).get("encoding", "utf-8")
    app.router.add_get("/{tail:.*}", handle)  # answers HEAD too
    return app


class CorpusServer:
    """Every site of the corpus, each on its own 127.0.0.1 port, served from a background thread.

    ``start()`` returns ``{site_id: base_url}``; ``stop()`` is safe to call twice.
    """

    def __init__(self, sites: list[str] | None = None, host: str = "127.0.0.1") -> None:
        self.sites = sites if sites is not None else site_ids()
        self.host = host
        self.urls: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> dict[str, str]:
        if self._thread is not None:
            return self.urls
        self._thread = threading.Thread(target=self._run, name="corpus-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"corpus server did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"corpus server failed to start: {self._error}") from self._error
        return self.urls

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            # The loop may close between the check and the call: then it is already stopping.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None

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
        self._stop = asyncio.Event()
        runners: list[web.AppRunner] = []
        try:
            for site in self.sites:
                runner = web.AppRunner(create_app(site), access_log=None, handle_signals=False)
                await runner.setup()
                runners.append(runner)
                await web.TCPSite(runner, self.host, 0).start()
                port = runner.addresses[0][1]
                self.urls[site] = f"http://{self.host}:{port}"
            self._ready.set()
            await self._stop.wait()
        finally:
            for runner in runners:
                await runner.cleanup()

    def __enter__(self) -> dict[str, str]:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve_corpus(sites: list[str] | None = None) -> Iterator[dict[str, str]]:
    """Serve the corpus (all sites, or those named) for the ``with`` block: ``{site: base_url}``."""
    server = CorpusServer(sites)
    try:
        yield server.start()
    finally:
        server.stop()


if __name__ == "__main__":  # python -m tests.corpus.server: serve until Ctrl-C
    with serve_corpus() as urls:
        for name, url in urls.items():
            print(f"{name}\t{url}{expected(name)['start']}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
