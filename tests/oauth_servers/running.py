"""Running a test server: a clock tests can move, an aiohttp app served from a thread on a free
127.0.0.1 port, and the command line (``python -m tests.oauth_servers.<name>``) that prints the
base URL as its first line, as ``python -m tests.sample_site`` does."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable

from aiohttp import web

from tests.sample_site.server import serve


class Clock:
    """Wall-clock time plus an offset the test moves (``clock.advance(301)``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class ServerThread:
    """``with ServerThread(app) as server: server.url``: served on 127.0.0.1 until the end."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url: str | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        self._thread = threading.Thread(target=self._run, name="oauth-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self.url is None:
            raise RuntimeError(f"server did not start: {self._error}")
        return self.url

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()

        def ready(url: str) -> None:
            self.url = url
            self._ready.set()

        await serve(self.app, self.host, self.port, self._stop, ready)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
        self.url = None

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(
    build: Callable[[argparse.Namespace], web.Application], parser: argparse.ArgumentParser
) -> None:
    """Serve ``build(args)`` in the foreground until SIGTERM/SIGINT; print the URL first."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(build(args), args.host, args.port, stop, lambda url: print(url, flush=True))

    asyncio.run(run())
