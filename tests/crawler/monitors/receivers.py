"""Loopback receivers of alerts and pushed items: an aiohttp server recording every request
(answering as WeCom, DingTalk, Feishu or a plain webhook do), and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.net import free_port


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None


@dataclass
class HttpReceiver:
    """``receiver.url + "/wecom"`` etc.; ``receiver.requests`` holds what came in.
    ``answer(request) -> (status, json)`` may be replaced to make it fail."""

    requests: list[Received] = field(default_factory=list)
    port: int = 0
    answer: Callable[[Received], tuple[int, Any]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def default_answer(self, got: Received) -> tuple[int, Any]:
        if got.path.startswith("/feishu"):
            return 200, {"code": 0, "msg": "success"}
        if got.path.startswith(("/wecom", "/dingtalk")):
            return 200, {"errcode": 0, "errmsg": "ok"}
        return 200, {"ok": True}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        got = Received(request.path, dict(request.query), dict(request.headers), body)
        try:
            import json

            got.json = json.loads(body) if body else None
        except ValueError:
            pass
        status, payload = (self.answer or self.default_answer)(got)
        if status < 300:
            self.requests.append(got)
        return web.json_response(payload, status=status)


class ServerThread:
    """An aiohttp app on 127.0.0.1 in a thread of its own; stop() ends it."""

    def __init__(self, receiver: HttpReceiver) -> None:
        self.receiver = receiver
        receiver.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.receiver.handle)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.receiver.port)
        self.loop.run_until_complete(site.start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> HttpReceiver:
        self.thread.start()
        assert self.ready.wait(10)
        return self.receiver

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self.runner is not None
            await self.runner.cleanup()
            # handlers still running (a client that went away) end here, not when collected
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1: ``messages`` holds (envelope from, recipients, message text)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[str, list[str], str]] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        text = envelope.content.decode("utf-8", "replace")
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), text))
        return "250 OK"

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
