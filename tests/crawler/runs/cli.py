"""Reading what ``scrapy store runs`` prints, for the tests that compare its figures."""

from __future__ import annotations

import re


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of the runs table, by its header's columns (cells may be empty)."""
    header, *lines = text.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    ends = [*starts[1:], None]
    return [
        {n: line[a:b].strip() for n, a, b in zip(names, starts, ends, strict=True)}
        for line in lines
    ]
