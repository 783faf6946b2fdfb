"""A process and its descendants, read from ``/proc`` (Linux): their resident memory, and
killing all of them.

The browser of a crawl is a tree under the crawl's process (Playwright's driver, Chromium and
its renderer, GPU and utility processes); Chromium starts its own process group, so a group kill
of a preview's process would leave it running. :func:`kill_tree` kills every descendant by its
id, and :func:`tree_rss` sums what the tree holds in memory. Nothing here imports a browser:
the data service uses it too. Elsewhere than Linux both see no descendants.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def parents() -> dict[int, int]:
    """Every process's parent: ``{pid: ppid}``. Plain ``os`` calls: this reads one file per
    process of the machine (hundreds on a busy one), on the crawl's event loop."""
    found: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir(PROC):
            if not entry.name.isdigit():
                continue
            try:
                stat = _read(f"/proc/{entry.name}/stat")
            except OSError:
                continue  # it ended meanwhile
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 1:
                found[int(entry.name)] = int(fields[1])
    return found


def descendants(pid: int, tree: dict[int, int] | None = None) -> list[int]:
    """Every process below ``pid`` (children, their children...), parents first."""
    tree = parents() if tree is None else tree
    children: dict[int, list[int]] = {}
    for child, parent in tree.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, ()))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(children.get(child, ()))
    return found


def rss(pids: Iterable[int]) -> int:
    """The summed resident memory of ``pids``, in bytes (processes gone count nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(_read(f"/proc/{pid}/statm").split()[1]) * PAGE
    return total


def _read(path: str) -> bytes:
    """A small file of /proc in one read (plain ``os`` calls: read many times a second)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def pss(pids: Iterable[int]) -> int:
    """The summed proportional set size of ``pids``, in bytes: each shared page counted once in
    all, split among the processes sharing it (``/proc/PID/smaps_rollup``). Chromium's processes
    share their libraries and buffers: the sum of their RSS counts those once per process (1.7
    GB for five small pages), their PSS is what the tree holds. A process whose PSS cannot be
    read counts its RSS."""
    total = 0
    for pid in pids:
        try:
            with open(PROC / str(pid) / "smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            total += rss([pid])
    return total


def tree_rss(pid: int, *, include_self: bool = True) -> int:
    """Resident memory of ``pid``'s tree (shared pages counted once per process)."""
    return rss(([pid] if include_self else []) + descendants(pid))


def tree_pss(pid: int, *, include_self: bool = True) -> int:
    """Proportional memory of ``pid``'s tree (shared pages counted once in all)."""
    return pss(([pid] if include_self else []) + descendants(pid))


def kill_tree(pid: int, rounds: int = 3) -> int:
    """SIGKILL ``pid`` and every descendant, by id (a child starting meanwhile is caught on the
    next round); returns how many processes were signalled."""
    killed: set[int] = set()
    for _ in range(rounds):
        targets = [p for p in [pid, *descendants(pid)] if p not in killed]
        alive = [p for p in targets if (PROC / str(p)).exists()]
        if not alive:
            break
        for target in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, signal.SIGSTOP)  # no new children while the tree is listed
        for target in [p for p in [pid, *descendants(pid)] if p not in killed]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, signal.SIGKILL)
                killed.add(target)
    return len(killed)


def kill_renderers(pid: int) -> int:
    """SIGKILL Chromium's renderer processes below ``pid`` (``--type=renderer``): their pages
    crash, the browser and Playwright's driver go on. Returns how many were signalled."""
    killed = 0
    for child in descendants(pid):
        try:
            cmdline = (PROC / str(child) / "cmdline").read_bytes()
        except OSError:
            continue
        if b"--type=renderer" in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
                killed += 1
    return killed
