"""Running ``scrapy crawl`` of a rule with an ``auth:`` section against a loopback OAuth server,
and reading back everything a person or another system could see of the run."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.store.backends import open_store
from tests.crawler.crawl import ROOT, SCRAPY

from .support import ENVIRON

RULE = """\
name: oauth_items
args:
  site: http://127.0.0.1:8000
item: {{key: id}}
start:
  - url: "{{site}}/api/items?page={pages}"
    page: items
pages:
  items:
    item: {{collection: oauth_items}}
    rows:
      json: items
      fields:
        id: {{json: id, required: true}}
        title: {{json: title}}
    pagination:
      next: {{json: next}}
      max_pages: 100
auth:
  provider: {provider}
"""
# RULE with one more start: a page of the provider that redirects (``moved_to``), its Location
# echoing the token; the redirected request goes through the scheduler and its queue.
WITH_A_REDIRECT = RULE.replace(
    "    page: items\n",
    '    page: items\n  - url: "{{site}}/api/moved?page=1"\n    page: items\n',
    1,
)


@dataclass
class Run:
    returncode: int
    log: str
    items: list[dict[str, Any]]
    records: list[dict[str, Any]]  # run records in the store
    store_text: str  # every byte of the item store, as text

    def stat(self, name: str) -> Any:
        return self.records[-1]["stats"].get(name) if self.records else None


def crawl_command(
    tmp_path: Path,
    name: str,
    site: str,
    providers: dict,
    *settings: str,
    pages: str = "1",
    rule: str = RULE,
) -> list[str]:
    """The command line; ``pages`` is the start page, or a range of them (``{1..8}``);
    ``rule`` the rule's text, formatted with ``provider`` and ``pages``."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    text = rule.format(provider=next(iter(providers)), pages=pages)
    (rules / "oauth_items.yaml").write_text(text)
    out = tmp_path / f"{name}.jsonl"
    return [
        *SCRAPY, "crawl", "oauth_items", "-a", f"site={site}", "-O", str(out),
        "-s", f"RULES_DIR={rules}",
        "-s", f"OAUTH_PROVIDERS={json.dumps(providers)}",
        "-s", f"OAUTH_TOKEN_STORE_URI=sqlite:///{tmp_path / 'oauth.db'}",
        "-s", f"STORE_URI=sqlite:///{tmp_path / f'{name}-store.db'}",
        "-s", f"STORE_SPILL_DIR={tmp_path / 'spill'}",
        "-s", "INCREMENTAL_STATE_URI=",
        "-s", "LOG_LEVEL=DEBUG",
        "-s", "CONCURRENT_REQUESTS=1",
        *settings,
    ]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **ENVIRON}


def finish(tmp_path: Path, name: str, returncode: int, log: str) -> Run:
    out = tmp_path / f"{name}.jsonl"
    items = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    db = tmp_path / f"{name}-store.db"
    records: list[dict[str, Any]] = []
    text = ""
    if db.exists():
        store = open_store(f"sqlite:///{db}")
        store.open()
        try:
            records = list(store.runs())
        finally:
            store.close()
        text = db.read_bytes().decode("utf-8", "replace")
    return Run(returncode, log, items, records, text)


def crawl(
    tmp_path: Path,
    site: str,
    providers: dict,
    *settings: str,
    name: str = "run",
    pages: str = "1",
    rule: str = RULE,
    env: dict[str, str] | None = None,
) -> Run:
    try:
        proc = subprocess.run(
            crawl_command(tmp_path, name, site, providers, *settings, pages=pages, rule=rule),
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**environment(), **(env or {})},
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:  # say why, not only that it hung
        log = exc.stderr or ""
        log = log.decode("utf-8", "replace") if isinstance(log, bytes) else log
        raise AssertionError(f"the crawl {name!r} did not end in 120 s; its log ends:\n"
                             + log[-6000:]) from None  # fmt: skip
    return finish(tmp_path, name, proc.returncode, proc.stderr)


def leaks(run: Run, secrets: set[str]) -> dict[str, list[str]]:
    """Where any of ``secrets`` shows up: the log, the items, the item store (items and run
    records, stats included)."""
    places = {"log": run.log, "items": json.dumps(run.items), "store": run.store_text,
              "records": json.dumps(run.records)}  # fmt: skip
    return {
        where: sorted(s[:6] + "…" for s in secrets if s in text)
        for where, text in places.items()
        if any(s in text for s in secrets)
    }
