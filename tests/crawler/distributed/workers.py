"""Distributed crawl workers as the user runs them: ``scrapy seed`` and ``scrapy crawl``
subprocesses, with what each logged and scraped."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.crawler.crawl import ROOT, SCRAPY

CRAWLED = re.compile(r"Crawled \((\d+)\) <GET ([^>]+)>")


def env_for(redis_url: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url}


def seed(rule: str, redis_url: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*SCRAPY, "seed", rule, *args],
        cwd=ROOT,
        env=env_for(redis_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log_path: Path
    items_path: Path
    _log_file: object = field(repr=False, default=None)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log_file.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log_file.close()

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def crawled(self) -> list[str]:
        """URLs this worker downloaded (any status), in order, repeats kept."""
        return [m.group(2) for m in CRAWLED.finditer(self.log)]

    def items(self) -> list[dict]:
        if not self.items_path.exists():
            return []
        lines = self.items_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


class Workers:
    """Starts workers; whatever is still running at teardown is killed."""

    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.started: list[Worker] = []

    def start(self, rule: str, *args: str, name: str | None = None) -> Worker:
        name = name or f"w{len(self.started) + 1}"
        log_path = self.tmp_path / f"{name}.log"
        items_path = self.tmp_path / f"{name}.jsonl"
        log_file = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by Worker
        cmd = [
            *SCRAPY, "crawl", rule, "-O", str(items_path),
            "-s", "LOG_LEVEL=DEBUG",
            "-s", f"STORE_URI=sqlite:///{self.tmp_path / (name + '.db')}",
            "-s", f"STORE_SPILL_DIR={self.tmp_path / 'spill'}",
            "-s", "DISTRIBUTED_IDLE_TIMEOUT=1.5",
            "-s", "DISTRIBUTED_POLL_INTERVAL=0.2",
            *args,
        ]  # fmt: skip
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env_for(self.redis_url), stdout=log_file, stderr=subprocess.STDOUT
        )
        worker = Worker(name, proc, log_path, items_path, log_file)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.kill()
