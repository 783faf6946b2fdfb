"""Field coverage (the share of items with a field filled, 0..1) as the crawl's stats give it.

Two shapes are read: ``coverage/<field>`` holding the share itself, and per page type
``coverage/<page>/items`` with ``coverage/<page>/filled/<field>`` counts (summed over the page
types). A field no stat mentions has a coverage of 0.

>>> field_coverage({"coverage/title": 1.0, "coverage/price": 0.5})
{'price': 0.5, 'title': 1.0}
>>> field_coverage({"coverage/book/items": 4, "coverage/book/filled/title": 4,
...                 "coverage/list/items": 4, "coverage/list/filled/title": 2})
{'title': 0.75}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "coverage/"


def field_coverage(stats: Mapping[str, Any]) -> dict[str, float]:
    shares: dict[str, float] = {}
    items: dict[str, int] = {}
    filled: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        parts = key[len(PREFIX) :].split("/")
        if len(parts) == 1:
            shares[parts[0]] = float(value)
        elif len(parts) == 2 and parts[1] == "items":
            items[parts[0]] = int(value)
        elif len(parts) == 3 and parts[1] == "filled":
            filled.setdefault(parts[2], {})[parts[0]] = int(value)
    total = sum(items.values())
    if total:
        for name, per_page in filled.items():
            shares.setdefault(name, round(sum(per_page.values()) / total, 4))
    return dict(sorted(shares.items()))
