"""What the compiler knows about settings: their names, types, allowed values, and which of them
a rule may set.

The catalog is data handed to the compiler (the Scrapy side builds it from Scrapy's defaults and
the platform's defaults modules, :mod:`crawler.defaults`); the compiler only asks it questions.

>>> catalog = SettingsCatalog([
...     SettingSpec("LOG_LEVEL", "str", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
...     SettingSpec("DOWNLOAD_DELAY", "float", minimum=0, rule_safe=True),
... ])
>>> catalog.value_problem("LOG_LEVEL", "LOUD")
"must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"
>>> catalog.value_problem("DOWNLOAD_DELAY", "slow")
"expected a number, got 'slow'"
>>> catalog.value_problem("DOWNLOAD_DELAY", 0.5) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KINDS = ("bool", "int", "float", "str", "list", "dict", "any")
_KIND_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "list": "a list",
    "dict": "a mapping",
}


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its type (``KINDS``), whether null is allowed, allowed values, a minimum for
    numbers, and whether a rule file may set it (plain values that name no class, module, file
    or output)."""

    name: str
    kind: str = "any"
    nullable: bool = False
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    rule_safe: bool = False
    group: str = ""  # where it is declared: "scrapy" or a defaults module

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown setting kind {self.kind!r}")

    def value_problem(self, value: Any) -> str | None:
        if value is None:
            return None if self.nullable or self.kind == "any" else "must not be null"
        if not _has_kind(self.kind, value):
            return f"expected {_KIND_WORDS[self.kind]}, got {_show(value)}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}; got {_show(value)}"
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            return f"must be at least {self.minimum:g}; got {_show(value)}"
        if self.maximum is not None and isinstance(value, int | float) and value > self.maximum:
            return f"must be at most {self.maximum:g}; got {_show(value)}"
        return None


def _has_kind(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":  # Scrapy's getlist also splits a comma-separated string
        return isinstance(value, list | tuple | str)
    return isinstance(value, dict)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SettingsCatalog:
    """Every known setting by name. An empty catalog knows nothing and checks nothing."""

    def __init__(self, specs: Iterable[SettingSpec] = ()) -> None:
        self.specs = {spec.name: spec for spec in specs}

    def __bool__(self) -> bool:
        return bool(self.specs)

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __len__(self) -> int:
        return len(self.specs)

    def get(self, name: str) -> SettingSpec | None:
        return self.specs.get(name)

    def names(self) -> list[str]:
        return sorted(self.specs)

    def rule_safe_names(self) -> list[str]:
        return sorted(n for n, s in self.specs.items() if s.rule_safe)

    def value_problem(self, name: str, value: Any) -> str | None:
        spec = self.specs.get(name)
        return None if spec is None else spec.value_problem(value)
