"""A test fleet: hundreds of loopback forward proxies with set behaviours, in ONE asyncio loop.

Behaviours (``ProxySpec.kind``):

``elite``        forwards, adds nothing
``anonymous``    forwards, adds ``Via``
``transparent``  forwards, adds ``X-Forwarded-For: <client address>``
``slow``         waits ``delay`` seconds, then forwards like ``elite``
``tarpit``       accepts the connection and never answers
``dead``         nothing listens on the port (connection refused)
``garbage``      answers 200 with a body that is not what was asked for

Each proxy connects upstream from its own loopback address (127.0.0.2, 127.0.0.3, ...) so the
judge sees different clients. Proxies can require ``Proxy-Authorization`` (``auth``).
``FleetThread`` runs a judge (HTTP and HTTPS) and a fleet in a background thread;
``python -m tests.proxies.fleet`` runs them in a process of their own (for the benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from proxies.judge import RunningJudge, start_judge
from proxies.model import Proxy

KINDS = ("elite", "anonymous", "transparent", "slow", "tarpit", "dead", "garbage")
ALIVE_KINDS = ("elite", "anonymous", "transparent", "slow")


@dataclass
class ProxySpec:
    kind: str
    delay: float = 0.0
    auth: tuple[str, str] | None = None
    port: int = 0
    source_ip: str = "127.0.0.2"

    def proxy(self, source: str = "fleet") -> Proxy:
        user, password = self.auth or (None, None)
        return Proxy("127.0.0.1", self.port, username=user, password=password, source=source)


@dataclass
class Fleet:
    specs: list[ProxySpec]
    servers: list[asyncio.Server] = field(default_factory=list)
    tasks: set[asyncio.Task] = field(default_factory=set)
    connections: int = 0
    held: list[socket.socket] = field(default_factory=list)

    async def start(self) -> None:
        for i, spec in enumerate(self.specs):
            spec.source_ip = f"127.0.{(i // 250) % 250}.{2 + i % 250}"
            if spec.kind == "dead":
                continue
            server = await asyncio.start_server(
                lambda r, w, s=spec: self._handle(r, w, s), "127.0.0.1", 0, backlog=512
            )
            spec.port = server.sockets[0].getsockname()[1]
            self.servers.append(server)
        # a dead port stays bound without listening: connections are refused, and no other
        # server (of this test run or another) can be given the port meanwhile
        for spec in self.specs:
            if spec.kind == "dead":
                sock = socket.socket()
                sock.bind(("127.0.0.1", 0))
                spec.port = sock.getsockname()[1]
                self.held.append(sock)

    async def stop(self) -> None:
        for sock in self.held:
            sock.close()
        for server in self.servers:
            server.close()
        for task in list(self.tasks):
            task.cancel()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, spec: ProxySpec
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.connections += 1
        try:
            await self._serve(reader, writer, spec)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        except asyncio.CancelledError:  # the fleet is stopping
            pass
        finally:
            self.tasks.discard(task)
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, spec: ProxySpec
    ) -> None:
        if spec.kind == "tarpit":
            while await reader.read(65536):  # hold the connection until the client gives up
                pass
            return
        head = await reader.readuntil(b"\r\n\r\n")
        if spec.kind == "slow":
            await asyncio.sleep(spec.delay)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(h.split(":", 1)) for h in lines[1:] if ":" in h]
        if spec.auth is not None:
            expected = "Basic " + base64.b64encode(":".join(spec.auth).encode()).decode()
            got = next((v.strip() for k, v in headers if k.lower() == "proxy-authorization"), None)
            if got != expected:
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await writer.drain()
                return
        if spec.kind == "garbage":
            body = b"<html>hello from a captive portal</html>"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (len(body), body)
            )
            await writer.drain()
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            up_r, up_w = await asyncio.open_connection(
                host, int(port), local_addr=(spec.source_ip, 0)
            )
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _relay(reader, writer, up_r, up_w)
            return
        url = urlsplit(target)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        drop = {"proxy-connection", "proxy-authorization", "connection", "keep-alive"}
        out = [f"{method} {path} HTTP/1.1"]
        out += [f"{k}:{v}" for k, v in headers if k.lower() not in drop]
        client_ip = writer.get_extra_info("peername")[0]
        if spec.kind == "transparent":
            out.append(f"X-Forwarded-For: {client_ip}")
        elif spec.kind == "anonymous":
            out.append("Via: 1.1 fleet-proxy")
        out.append("Connection: close")
        up_r, up_w = await asyncio.open_connection(
            url.hostname, url.port or 80, local_addr=(spec.source_ip, 0)
        )
        up_w.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
        if length:
            up_w.write(await reader.readexactly(length))
        await up_w.drain()
        try:
            while data := await up_r.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            up_w.close()


async def _relay(
    cr: asyncio.StreamReader,
    cw: asyncio.StreamWriter,
    ur: asyncio.StreamReader,
    uw: asyncio.StreamWriter,
) -> None:
    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    await asyncio.gather(pipe(cr, uw), pipe(ur, cw))


def make_specs(counts: dict[str, int], delay: float = 0.3, auth_every: int = 0) -> list[ProxySpec]:
    """Specs interleaved by kind (so concurrency meets a realistic mix)."""
    pools = {
        k: [ProxySpec(k, delay=delay if k == "slow" else 0.0) for _ in range(n)]
        for k, n in counts.items()
    }
    specs: list[ProxySpec] = []
    while any(pools.values()):
        for k in list(pools):
            if pools[k]:
                specs.append(pools[k].pop())
    if auth_every:
        for i, s in enumerate(specs):
            if i % auth_every == 0:
                s.auth = (f"user{i}", f"pw-{i}-secret")
    return specs


class FleetThread:
    """A judge and a fleet on their own event loop in a background thread."""

    def __init__(self, specs: list[ProxySpec], tls: bool = True) -> None:
        self.fleet = Fleet(specs)
        self.tls = tls
        self.judge: RunningJudge | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fleet", daemon=True)

    def __enter__(self) -> FleetThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _start(self) -> None:
        self.judge = await start_judge("127.0.0.1", 0, 0 if self.tls else None)
        await self.fleet.start()

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            await self.fleet.stop()
            if self.judge:
                await self.judge.stop()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class _JudgeAddress:
    url: str
    https_url: str | None


class FleetProcess:
    """The same judge and fleet in a child process (a core of its own): ``.judge.url``,
    ``.judge.https_url`` and ``.fleet.specs`` as with :class:`FleetThread`."""

    def __init__(self, counts: dict[str, int], delay: float = 0.3, auth_every: int = 0) -> None:
        self.counts = counts
        self.delay = delay
        self.auth_every = auth_every
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> FleetProcess:
        root = Path(__file__).resolve().parents[2]
        cmd = [sys.executable, "-m", "tests.proxies.fleet", "--delay", str(self.delay)]
        cmd += ["--auth-every", str(self.auth_every)]
        for kind, n in self.counts.items():
            cmd += [f"--{kind}", str(n)]
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError("the fleet process did not start")
        info = json.loads(line)
        self.judge = _JudgeAddress(info["judge"], info["judge_https"])
        specs = []
        for d in info["specs"]:
            d["auth"] = tuple(d["auth"]) if d["auth"] else None
            specs.append(ProxySpec(**d))
        self.fleet = Fleet(specs)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    """Run a judge and a fleet; print their addresses as one JSON line; stop at stdin EOF."""
    ap = argparse.ArgumentParser()
    for kind in KINDS:
        ap.add_argument(f"--{kind}", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.3, help="seconds a slow proxy waits")
    ap.add_argument("--no-tls", action="store_true")
    ap.add_argument("--auth-every", type=int, default=0, help="every Nth proxy needs credentials")
    args = ap.parse_args()
    specs = make_specs(
        {k: getattr(args, k) for k in KINDS}, delay=args.delay, auth_every=args.auth_every
    )

    async def run() -> None:
        fleet = Fleet(specs)
        judge = await start_judge("127.0.0.1", 0, None if args.no_tls else 0)
        await fleet.start()
        info = {
            "judge": judge.url,
            "judge_https": judge.https_url,
            "proxies": [[s.kind, s.port] for s in specs],
            "specs": [asdict(s) for s in specs],
        }
        print(json.dumps(info), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        await fleet.stop()
        await judge.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
