"""Pure functions that normalise extracted values, and the registry naming them for YAML rules.

No I/O happens here and nothing is imported from ``crawler``. Item types, which use these
cleaners, belong to the rule compiler (:mod:`crawler.rules.itemtypes`).
"""

from __future__ import annotations

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
    "Registry",
    "cleaner",
    "load_modules",
]
