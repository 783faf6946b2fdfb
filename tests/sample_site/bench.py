"""How many GETs per second the sample site serves: ``python -m tests.sample_site.bench``.

Starts the CLI server in a subprocess (one core, one event loop), warms its page cache, then
fetches detail pages over keep-alive connections with a minimal asyncio HTTP/1.1 client (the
aiohttp client costs more CPU than the server, so it would measure itself). Reports the wall-clock
rate and the rate per CPU-second the server process used, which holds even on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _connection(host: str, port: int, paths: list[str]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    for path in paths:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{path}: {head[:40]!r}")
        start = head.lower().index(b"content-length:") + len(b"content-length:")
        await reader.readexactly(int(head[start : head.index(b"\r\n", start)]))
    writer.close()
    await writer.wait_closed()
    return len(paths)


async def load(url: str, requests: int, connections: int, books: int) -> tuple[int, float]:
    """Fetch ``requests`` detail pages over ``connections`` connections; (done, seconds)."""
    parts = urlsplit(url)
    paths = [f"/book/{i % books + 1}.html" for i in range(requests)]
    started = time.perf_counter()
    done = await asyncio.gather(
        *(
            _connection(parts.hostname, parts.port, paths[i::connections])
            for i in range(connections)
        )
    )
    return sum(done), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=30000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--books", type=int, default=5000)
    args = parser.parse_args()
    command = [sys.executable, "-m", "tests.sample_site", "--books", str(args.books)]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as server:
        try:
            url = server.stdout.readline().strip()
            asyncio.run(load(url, args.books, args.connections, args.books))  # warm the cache
            cpu_before = server_cpu_seconds(server.pid)
            done, seconds = asyncio.run(load(url, args.requests, args.connections, args.books))
            cpu = server_cpu_seconds(server.pid) - cpu_before
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
    print(
        f"{done} GETs over {args.connections} keep-alive connections in {seconds:.2f} s: "
        f"{done / seconds:.0f} GET/s wall, {done / max(cpu, 1e-9):.0f} GET/s per server CPU-second "
        f"(server used {cpu:.2f} CPU-s)"
    )


if __name__ == "__main__":
    main()
