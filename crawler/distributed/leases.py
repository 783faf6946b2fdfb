"""When a lease may end: once everything its response produced is durable.

A response's callback yields requests and items. Scrapy hands them to a queue of its own and
processes them in parallel, so the callback's output being consumed says nothing about their
fate. :class:`Outputs` counts them instead: a request is settled when the scheduler has queued
it in Redis (or found it a duplicate there), an item when the item pipelines are done with it
(the store pipeline holds each item until it is in the write-ahead journal on disk). The lease
middleware waits for its response's outputs to settle before it ends the lease; a request
that could not be queued (Redis away) keeps the lease, so the response is handed back and
fetched again rather than lost.
"""

from __future__ import annotations

from typing import Any

from crawler.core.clock import Waiter


class Outputs:
    """The outputs of one response that are not settled yet."""

    def __init__(self) -> None:
        self.pending = 0
        self.failed = False
        self._settled: Waiter | None = None

    def add(self) -> None:
        self.pending += 1

    def done(self, ok: bool = True) -> None:
        self.pending -= 1
        if not ok:
            self.failed = True
        if self.pending <= 0 and self._settled is not None:
            self._settled.set()

    async def settled(self) -> None:
        if self.pending > 0:
            self._settled = Waiter()
            await self._settled


class OutputTracker:
    """Which response each output request came from, until the scheduler has handled it."""

    def __init__(self) -> None:
        self._requests: dict[int, tuple[Any, Outputs]] = {}  # id(request) -> (request, outputs)

    def expect(self, request: Any, outputs: Outputs) -> None:
        outputs.add()
        self._requests[id(request)] = (request, outputs)  # the request is kept alive meanwhile

    def handled(self, request: Any, ok: bool = True) -> None:
        entry = self._requests.pop(id(request), None)
        if entry is not None and entry[0] is request:
            entry[1].done(ok)

    def forget(self, outputs: Outputs) -> None:
        for key in [k for k, (_, o) in self._requests.items() if o is outputs]:
            del self._requests[key]
