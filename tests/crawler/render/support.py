"""What the rendering tests share: the sample site with a request log, and crawls of rule files
written into a temporary rules directory."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.crawler.crawl import ROOT, CrawlRun, crawl


@dataclass
class Seen:
    path: str
    query: str
    remote: str
    agent: str


@dataclass
class RequestLog:
    """An aiohttp middleware keeping every request the site answers: path, client, agent."""

    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def middleware(self) -> Callable[..., Any]:
        @web.middleware
        async def log(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
            entry = Seen(
                request.path, request.query_string, request.remote or "?",
                request.headers.get("User-Agent", ""),
            )  # fmt: skip
            with self.lock:
                self.seen.append(entry)
            return await handler(request)

        return log

    def paths(self) -> list[str]:
        with self.lock:
            return [s.path for s in self.seen]

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


def rules_dir(tmp_path: Path, **rules: str) -> Path:
    """A rules directory with the shipped item types and the given rule texts."""
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    shutil.copytree(ROOT / "rules" / "types", directory / "types", dirs_exist_ok=True)
    for name, text in rules.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


def render_crawl(
    rule: str, tmp_path: Path, site: str, *args: str, timeout: float = 180
) -> CrawlRun:
    """``scrapy crawl`` with screenshots kept under tmp_path (never data/)."""
    shots = ["-s", f"RENDER_SCREENSHOT_DIR={tmp_path / 'shots'}"]
    return crawl(rule, tmp_path, *shots, *args, site=site, timeout=timeout)
