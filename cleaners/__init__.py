"""Pure functions that normalise extracted values, the registry naming them for YAML rules,
and item types (field mapping, type-level cleaning and validation).

No I/O happens here and nothing is imported from ``crawler``.
"""

from __future__ import annotations

from typing import Any

from cleaners.registry import (
    REGISTRY,
    Chain,
    ChainError,
    CleanContext,
    CleanError,
    Registry,
    cleaner,
    load_modules,
)

__all__ = [
    "REGISTRY",
    "Chain",
    "ChainError",
    "CleanContext",
    "CleanError",
    "ItemType",
    "Registry",
    "Result",
    "cleaner",
    "item_type_schema",
    "load_modules",
]


def __getattr__(name: str) -> Any:
    # Item types pull in jsonschema; load them only for code that asks for them.
    if name in ("ItemType", "Result", "item_type_schema"):
        from cleaners import itemtypes

        return getattr(itemtypes, name)
    raise AttributeError(f"module 'cleaners' has no attribute {name!r}")
