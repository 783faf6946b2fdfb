"""Run a scrapy command in this process and print its peak memory when it exits:
``python -m tests.security.measured crawl RULE ...`` (``MAXRSS_MB=<n>`` on stderr).

The peak is ``VmHWM`` from /proc/self/status: the high-water mark of this process's own memory.
``getrusage``'s ``ru_maxrss`` would not do: Linux carries the parent's peak across fork and exec
into it, so a command started from a big pytest process would seem as big as pytest.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

from scrapy.cmdline import execute


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def report() -> None:
    print(f"MAXRSS_MB={peak_mb():.1f}", file=sys.stderr)


if __name__ == "__main__":
    atexit.register(report)
    execute(["scrapy", *sys.argv[1:]])
