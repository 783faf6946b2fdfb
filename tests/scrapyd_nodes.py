"""Throwaway Scrapyd nodes (Scrapyd from PyPI) on free loopback ports, each in a directory of
its own (eggs, logs, queue databases, the crawls' data), for the fleet tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.net import free_port, wait_for_port


class ScrapydNode:
    def __init__(
        self,
        workdir: Path,
        name: str,
        *,
        username: str = "",
        password: str = "",
        max_proc: int = 4,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.username = username
        self.password = password
        self.max_proc = max_proc
        self.env = env or {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> ScrapydNode:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            f"bind_address = 127.0.0.1\nhttp_port = {self.port}\n"
            f"username = {self.username}\npassword = {self.password}\n"
            f"eggs_dir = {self.workdir / 'eggs'}\nlogs_dir = {self.workdir / 'logs'}\n"
            f"dbs_dir = {self.workdir / 'dbs'}\nitems_dir =\njobs_to_keep = 20\n"
            f"max_proc = {self.max_proc}\npoll_interval = 0.2\n",
            encoding="utf-8",
        )
        env = {**os.environ, "CRAWLER_DATA_DIR": str(self.workdir / "data"), **self.env}
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        self.log = (self.workdir / "scrapyd.out").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"],
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its crawls too: kill_all() ends the whole node
        )
        try:
            wait_for_port(self.port, process=self.proc, timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                f"scrapyd did not start: {(self.workdir / 'scrapyd.out').read_text()[-2000:]}"
            ) from None
        return self

    def config(self) -> dict[str, object]:
        """The node as the NODES setting names it (its password through the environment)."""
        entry: dict[str, object] = {"url": self.url, "slots": self.max_proc}
        if self.username:
            entry.update(
                username=self.username, password_env=f"TEST_NODE_{self.name.upper()}_PASSWORD"
            )
            os.environ[f"TEST_NODE_{self.name.upper()}_PASSWORD"] = self.password
        return entry

    def kill_all(self) -> None:
        """SIGKILL the node and every crawl it started (a machine that died)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
