"""Run a scrapy command in this process and print its peak memory when it exits:
``python -m tests.security.measured crawl RULE ...`` (``MAXRSS_MB=<n>`` on stderr).

<<<<<<< HEAD
The peak is ``VmHWM`` from /proc/self/status: the high-water mark of this process's own memory.
``getrusage``'s ``ru_maxrss`` would not do: Linux carries the parent's peak across fork and exec
into it, so a command started from a big pytest process would seem as big as pytest.
=======
The peak is this program's own: ``VmHWM`` of /proc/self/status, which starts again at exec.
``ru_maxrss`` does not: Linux keeps it across fork and exec, so a child of a large process (the
test runner, late in the suite) reported the runner's size as its own.
>>>>>>> render
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

from scrapy.cmdline import execute


def peak_mb() -> float:
<<<<<<< HEAD
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
=======
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
>>>>>>> render


def report() -> None:
    print(f"MAXRSS_MB={peak_mb():.1f}", file=sys.stderr)


if __name__ == "__main__":
    atexit.register(report)
    execute(["scrapy", *sys.argv[1:]])
