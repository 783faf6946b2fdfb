"""How often one client address may start a sign-in: each start keeps a session row (the flow's
state) for ``SIGNIN_STATE_TTL``, so starts are what an unauthenticated client could pile up.
At most ``SIGNIN_START_RATE`` starts per ``SIGNIN_START_WINDOW`` seconds per address (a sliding
window); beyond it the login route answers 429 with ``Retry-After``. The addresses remembered
are bounded (the least recently seen forgotten first).

>>> now = [0.0]
>>> limit = StartLimit(2, 60.0, clock=lambda: now[0])
>>> limit.wait("10.0.0.1"), limit.wait("10.0.0.1"), limit.wait("10.0.0.1"), limit.wait("10.0.0.2")
(0.0, 0.0, 60.0, 0.0)
>>> now[0] = 61.0
>>> limit.wait("10.0.0.1")
0.0
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_CLIENTS = 10_000


class StartLimit:
    def __init__(
        self,
        rate: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.rate = rate
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self.starts: OrderedDict[str, deque[float]] = OrderedDict()
        self.lock = threading.Lock()

    def wait(self, client: str) -> float:
        """0 when ``client`` may start a sign-in now (the start is counted), else the seconds
        until it may."""
        now = self.clock()
        with self.lock:
            times = self.starts.pop(client, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            self.starts[client] = times  # the most recently seen last
            while len(self.starts) > self.max_clients:
                self.starts.popitem(last=False)
            if len(times) >= self.rate:
                return max(0.001, times[0] + self.window - now)
            times.append(now)
            return 0.0
