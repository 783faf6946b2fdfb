"""Run a scrapy command in this process and print its peak memory when it exits:
``python -m tests.security.measured crawl RULE ...`` (``MAXRSS_MB=<n>`` on stderr)."""

from __future__ import annotations

import atexit
import resource
import sys

from scrapy.cmdline import execute


def report() -> None:
    print(
        f"MAXRSS_MB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    atexit.register(report)
    execute(["scrapy", *sys.argv[1:]])
