"""A real data service (``scrapy serve``) for the browser tests and the screenshot script: a
subprocess on a free loopback port over a workspace in a temporary directory (rules, store,
schedule state, tokens, spill), with one API token given through the environment."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.crawler.crawl import ROOT, CrawlRun, crawl
from tests.net import free_port

DIST = ROOT / "dashboard" / "dist"
NOT_BUILT = "the dashboard is not built: run `make dashboard` (npm ci + build into dashboard/dist/)"
TOKENS_ENV = "CRAWLER_SERVICE_TOKENS"


class Workspace:
    """Everything the service and the crawls of one test module write, under ``root``."""

    def __init__(self, root: Path, site: str) -> None:
        self.root = root
        self.site = site
        self.rules = root / "rules"
        self.store_uri = f"sqlite:///{root / 'store.db'}"
        self.pool_uri = f"sqlite:///{root / 'proxies.db'}"  # no pool until something writes it
        self.rules.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "rules" / "types", self.rules / "types", dirs_exist_ok=True)
        shutil.copy(ROOT / "rules" / "rule.schema.json", self.rules)

    def settings(self) -> list[str]:
        """``-s NAME=VALUE`` that keep every write of the service and its crawls in ``root``."""
        values = {
            "STORE_URI": self.store_uri,
            "STORE_SPILL_DIR": self.root / "spill",
            "RULES_DIR": self.rules,
            "SCHEDULE_DIR": self.root / "schedule",
            "SERVICE_DATA_DIR": self.root / "service",
            "RULE_HISTORY_DIR": self.root / "rule-history",
            "SERVICE_TOKENS_FILE": self.root / "tokens.json",
            "INCREMENTAL_STATE_URI": f"sqlite:///{self.root / 'seen.db'}",
            "PROXY_POOL_STORE": self.pool_uri,
            "PROXY_POOL_DATA_DIR": self.root / "proxies",
            # a crawl of a few seconds still shows its progress live
            "PROGRESS_INTERVAL": 1,
            "RUN_UPDATE_INTERVAL": 1,
        }
        return [arg for name, value in values.items() for arg in ("-s", f"{name}={value}")]

    def add_rule(self, name: str, text: str) -> Path:
        path = self.rules / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    def sample_rule(self, name: str = "sample_books", extra: str = "") -> Path:
        """The repository's rule ``name`` with its ``site`` argument defaulting to our sample site
        (so "Run now", which passes no arguments, crawls it), plus ``extra`` YAML appended."""
        text = (ROOT / "rules" / f"{name}.yaml").read_text(encoding="utf-8")
        text = text.replace("site: http://127.0.0.1:8000", f"site: {self.site}", 1)
        assert f"site: {self.site}" in text, f"rules/{name}.yaml has no default site argument"
        return self.add_rule(name, text + extra)

    def crawl(self, rule: str, *args: str) -> CrawlRun:
        """``scrapy crawl RULE`` into this workspace's store, as a user runs it."""
        return crawl(rule, self.root, "-s", f"RULES_DIR={self.rules}", *args, site=self.site)


class Service:
    """``scrapy serve`` on 127.0.0.1:port over a workspace; ``token`` may make changes."""

    def __init__(
        self, workspace: Workspace, *settings: str, env: dict[str, str] | None = None
    ) -> None:
        self.workspace = workspace
        self.env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = f"dashboard-test-{secrets.token_hex(16)}"
        self.extra = list(settings)
        self.proc: subprocess.Popen | None = None
        self.log = workspace.root / "serve.log"

    def start(self, timeout: float = 60) -> Service:
        cmd = [sys.executable, "-m", "scrapy.cmdline", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), *self.workspace.settings(), *self.extra]
        env = {**os.environ, "PYTHONPATH": str(ROOT), TOKENS_ENV: self.token, **self.env}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scrapy serve exited {self.proc.returncode}:\n{self.output()}")
            try:
                self.get("/api/auth/session")  # open whether or not sign-in is configured
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"scrapy serve did not answer within {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_run(self, run_id: str, timeout: float = 120) -> dict[str, Any]:
        """The record of run_id once the crawl is over."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                record = self.get(f"/api/runs/{run_id}")
                if not record.get("live") and record.get("status") != "running":
                    return record
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            time.sleep(0.3)
        raise TimeoutError(f"run {run_id} still running after {timeout}s")

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
