"""Delivering again what the pusher kept aside (``PUSH_DIR/<sink>/failed-*.jsonl``), once the
business system is back: each file's entries go to their sink by collection, in batches; a
file fully delivered is renamed ``*.replayed`` (or deleted); lines that cannot be read are
reported and the file is left in place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPLAYED_SUFFIX = ".replayed"


@dataclass
class PushReplay:
    path: Path
    delivered: int = 0
    bad_lines: list[int] = field(default_factory=list)
    error: str = ""


def failed_files(directory: Path, sink: str) -> list[Path]:
    return sorted((directory / sink).glob("failed-*.jsonl"))


def replay_file(path: Path, sink: Any, batch_size: int, delete: bool = False) -> PushReplay:
    result = PushReplay(path)
    groups: dict[str, list[dict[str, Any]]] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                groups.setdefault(record["collection"], []).append(record["entry"])
            except (ValueError, KeyError, TypeError):
                result.bad_lines.append(number)
    try:
        for collection, entries in groups.items():
            for start in range(0, len(entries), batch_size):
                batch = entries[start : start + batch_size]
                sink.deliver(collection, batch)
                result.delivered += len(batch)
    except Exception as exc:  # the sink is still down: the file stays for the next replay
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    if not result.bad_lines:
        if delete:
            path.unlink()
        else:
            path.replace(path.with_name(path.name + REPLAYED_SUFFIX))
    return result
