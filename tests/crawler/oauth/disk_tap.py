"""Scrapy's own JOBDIR disk queues, tapped: every request they write is also appended to a file
the test reads, so a test sees each request that ever reached the disk, not only those still
there when the crawl stopped (a LIFO disk queue truncates its file as it pops).

    scrapy crawl ... -s JOBDIR=... $(SETTINGS), with DISK_TAP=<file> in the environment

Both queues: start requests (and requests made from them, such as their redirects, which keep
``is_start_request``) go to ``SCHEDULER_START_DISK_QUEUE``, the others to
``SCHEDULER_DISK_QUEUE``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.squeues import PickleFifoDiskQueue, PickleLifoDiskQueue

TAP = "DISK_TAP"
SETTINGS = (
    "-s", f"SCHEDULER_DISK_QUEUE={__name__}.TappedDiskQueue",
    "-s", f"SCHEDULER_START_DISK_QUEUE={__name__}.TappedStartDiskQueue",
)  # fmt: skip


class Tap:
    spider: Any

    def push(self, request: Request) -> None:
        super().push(request)  # type: ignore[misc] - what the job directory holds
        data = pickle.dumps(request.to_dict(spider=self.spider), protocol=4)
        with open(os.environ[TAP], "ab") as tap:
            tap.write(len(data).to_bytes(4, "big") + data)


class TappedDiskQueue(Tap, PickleLifoDiskQueue):
    """Scrapy's default ``SCHEDULER_DISK_QUEUE``, tapped."""


class TappedStartDiskQueue(Tap, PickleFifoDiskQueue):
    """Scrapy's default ``SCHEDULER_START_DISK_QUEUE``, tapped."""


def tapped(path: Path) -> list[tuple[bytes, dict[str, Any]]]:
    """Each request written to the disk queue: its bytes as written, and the dict they hold
    (the test's own file: unpickled here, never anything from a queue under test)."""
    out: list[tuple[bytes, dict[str, Any]]] = []
    data = path.read_bytes() if path.exists() else b""
    at = 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        chunk = data[at + 4 : at + 4 + size]
        out.append((chunk, pickle.loads(chunk)))  # noqa: S301 - written by TappedDiskQueue
        at += 4 + size
    return out
