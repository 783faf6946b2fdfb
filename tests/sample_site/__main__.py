"""Command line: serve the sample site in the foreground until SIGTERM or SIGINT.

    python -m tests.sample_site [--host 127.0.0.1] [--port 0] [--books 60] [--latency-ms 0]
                                [--big-pages 0] [--hosts N] [--record-hosts FILE]

The first line on stdout is exactly the base URL (``http://127.0.0.1:PORT``), flushed at once,
so a parent process can read the port; nothing is logged per request. With ``--hosts N`` the
site is served on N loopback addresses (127.0.1.1, 127.0.1.2, ...: ``loopback_hosts``) at the
same port, the first one's URL printed. With ``--record-hosts FILE``, what each host saw
(requests, the most in flight at once) is written to FILE as JSON when the site stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from .server import HostRecorder, create_app, loopback_hosts, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sample_site", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--books", type=int, default=60, help="catalogue size (default 60)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="fixed delay added to every response"
    )
    parser.add_argument(
        "--big-pages",
        type=int,
        default=0,
        help="long blog posts (50-300 KB pages) served under /blog/ (default 0: none)",
    )
    parser.add_argument("--hosts", type=int, default=0, help="serve on N loopback addresses")
    parser.add_argument("--record-hosts", type=Path, help="write what each host saw here at exit")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    recorder = HostRecorder() if args.record_hosts else None
    outer = (recorder.middleware(),) if recorder is not None else ()
    app = create_app(
        args.books, latency=args.latency_ms / 1000, big_pages=args.big_pages, outer=outer
    )
    hosts = loopback_hosts(args.hosts) or [args.host]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def announce(url: str) -> None:
        print(url, flush=True)

    await serve(app, hosts[0], args.port, stop, announce, also=hosts[1:])
    if recorder is not None:
        seen = {"requests": recorder.requests, "max_in_flight": recorder.max_in_flight}
        args.record_hosts.write_text(json.dumps(seen), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
    sys.exit(0)
