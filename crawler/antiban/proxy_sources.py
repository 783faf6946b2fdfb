"""Free-proxy sites crawled by their rules: the crawler's side of the proxy pool's rule sources.

The pool (``proxies/``) never imports the crawler; the ``scrapy proxies`` command passes
:func:`crawl_rule_items` to it as the rule runner (``python -m proxies`` has none and skips
rule sources). A rule crawl runs as ``scrapy crawl`` in a child
process, because the pool's checks run on asyncio while a crawl owns a Twisted reactor, and a
crawl that fails must not take the pool service down with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proxies.sources import SourceError
from vocab.datadir import project_root


async def crawl_rule_items(
    rule: str, args: Mapping[str, Any], *, timeout: float, rules_dir: str | None = None
) -> list[dict]:
    """Crawl ``rule`` with ``args`` and return its items (stored nowhere: the pool keeps them)."""
    with tempfile.TemporaryDirectory(prefix="proxy-source-") as tmp:
        out = Path(tmp) / "items.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "crawl",
            rule,
            "-O",
            str(out),
            "-s",
            "STORE_URI=",
            "-s",
            "LOG_LEVEL=ERROR",
        ]
        if rules_dir:
            cmd += ["-s", f"RULES_DIR={rules_dir}"]
        for name, value in args.items():
            cmd += ["-a", f"{name}={value}"]
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=project_root,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(project_root)},
        )
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SourceError(f"rule {rule!r} did not finish within {timeout:.0f}s") from None
        if proc.returncode != 0:
            detail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise SourceError(f"rule {rule!r} failed (exit {proc.returncode}): {detail[0]}")
        if not out.exists():
            return []
        lines = out.read_text(encoding="utf-8").splitlines()
    return [item for item in map(json.loads, filter(None, lines)) if "_errors" not in item]
