"""Rule sections: each top-level part of a rule file is one module of this package.

A module here defines ``SECTION``, a :class:`Section` declaring, in one place:

- ``properties``: the top-level keys it owns and their JSON Schema fragments, plus ``defs``
  (shared ``$defs``) and ``extends`` (properties it adds to other sections' ``$defs``, such as a
  key of every page type);
- ``build(ctx)``: its checks (problems go to ``ctx`` with their path) and its typed value, kept
  in ``Rule.sections[name]``;
- ``settings(value)``: the Scrapy settings it maps to;
- ``finish(rule, ctx)``: checks that need the whole compiled rule (optional).

The JSON Schema of rule files (``rules/rule.schema.json``) is generated from these declarations.
Adding a section means adding a module here (and its tests): sections are discovered, and built
in ``order``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.rules.compile_context import BuildContext
    from crawler.rules.model import Rule


def _no_settings(value: Any) -> Mapping[str, Any]:
    return {}


def _no_finish(rule: Rule, ctx: BuildContext) -> None:
    return None


@dataclass(frozen=True)
class Section:
    name: str
    order: int  # build order; settings of later sections win
    properties: Mapping[str, Any]  # top-level key -> JSON Schema fragment
    build: Callable[[BuildContext], Any]
    settings: Callable[[Any], Mapping[str, Any]] = _no_settings
    finish: Callable[[Rule, BuildContext], None] = _no_finish
    defs: Mapping[str, Any] = field(default_factory=dict)  # $defs it contributes
    extends: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # $def -> properties
    required: tuple[str, ...] = ()  # top-level keys a rule must have


@lru_cache(maxsize=1)
def sections() -> tuple[Section, ...]:
    """Every section, in build order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        section = getattr(module, "SECTION", None)
        if isinstance(section, Section):
            found.append(section)
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))
