"""Run ``scrapy crawl`` in a subprocess, the way a user does, and read what it produced."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRAPY = [sys.executable, "-m", "scrapy.cmdline"]


def sample_rules_with(tmp_path: Path, section: str, value: str) -> Path:
    """A copy of the project's rules (no fixtures) whose sample_books has ``section: value``."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("fixtures"))
    path = rules / "sample_books.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nstart:", f"\n{section}: {value}\nstart:", 1))
    return rules


@dataclass
class CrawlRun:
    returncode: int
    items: list[dict]
    log: str
    store_uri: str


def scrapy(
    *args: str, cwd: Path = ROOT, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SCRAPY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def crawl(
    rule: str, tmp_path: Path, *args: str, site: str | None = None, timeout: float = 120
) -> CrawlRun:
    """``scrapy crawl RULE -a site=... -O items.jsonl`` into a store under tmp_path."""
    out = tmp_path / f"{rule}.jsonl"
    store = f"sqlite:///{tmp_path / 'store.db'}"
    site_args = ["-a", f"site={site}"] if site else []
    proc = scrapy(
        "crawl",
        rule,
        *site_args,
        "-O",
        str(out),
        *store_args(tmp_path, store),
        "-s",
        "LOG_LEVEL=INFO",
        *args,
        timeout=timeout,
    )
    items = []
    if out.exists():
        items = [
            json.loads(line)
            for line in out.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    return CrawlRun(proc.returncode, items, proc.stderr, store)


def store_args(tmp_path: Path, uri: str | None = None) -> list[str]:
    """``-s`` options keeping a crawl's store (SQLite unless ``uri``), spill files, journal and
    run logs under tmp_path."""
    uri = uri or f"sqlite:///{tmp_path / 'store.db'}"
    return [
        "-s", f"STORE_URI={uri}",
        "-s", f"STORE_SPILL_DIR={tmp_path / 'spill'}",
        "-s", f"STORE_JOURNAL_DIR={tmp_path / 'journal'}",
        "-s", f"RUN_LOG_DIR={tmp_path / 'logs'}",
    ]  # fmt: skip


def crawl_sample_books(
    tmp_path: Path,
    rules: Path,
    site: str,
    *settings: str,
    env: dict | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess:
    """``scrapy crawl sample_books`` from ``rules`` into a store under tmp_path, without the
    seen-URL state (every run crawls everything); ``settings`` are more ``NAME=VALUE``."""
    args = ["crawl", "sample_books", "-a", f"site={site}"]
    for setting in (
        f"RULES_DIR={rules}",
        f"STORE_URI=sqlite:///{tmp_path / 'store.db'}",
        f"STORE_SPILL_DIR={tmp_path / 'spill'}",
        "INCREMENTAL_STATE_URI=",
        f"ALERTS_STATE={tmp_path / 'alerts.sqlite'}",
        *settings,
    ):
        args += ["-s", setting]
    return scrapy(*args, env=env, timeout=timeout)


def stat(log: str, name: str) -> int:
    """A counter from the stats dump at the end of a crawl log (0 when absent)."""
    import re

    match = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(match.group(1)) if match else 0
