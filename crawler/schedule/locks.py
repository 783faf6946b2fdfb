"""Locks that keep one rule from running twice at once: a lock file per rule on this machine,
and a lock in Redis for daemons on several machines."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

# KEYS: lock. ARGV: owner, ttl ms. Extends (ttl > 0) or releases (ttl 0) a lock still ours.
_OWNED_LOCK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('DEL', KEYS[1])
"""


class SharedRuleLock:
    """The Redis side of a rule's lock: ``<rule>:schedule:running`` holds the run id."""

    def __init__(self, client, rule: str, owner: str, ttl: float) -> None:
        self.client = client
        self.key = f"{rule}:schedule:running"
        self.owner = owner
        self.ttl_ms = int(ttl * 1000)
        self._owned = client.register_script(_OWNED_LOCK)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.owner, nx=True, px=self.ttl_ms))

    def refresh(self) -> None:
        self._owned(keys=[self.key], args=[self.owner, self.ttl_ms])

    def release(self) -> None:
        self._owned(keys=[self.key], args=[self.owner, 0])


class RuleLock:
    """An exclusive, non-blocking lock file per rule, released when its holder exits."""

    def __init__(self, directory: Path, rule: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{rule}.lock"
        self.file: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(self.path, "a+")  # noqa: SIM115 - held open as long as the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.file = handle
        return True

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None
