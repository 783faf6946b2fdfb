"""A field compiled once: its selector (or constant, or extractor), what to take, its cleaner
chain (run on every value, nothing found included), default and required check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cleaners.registry import REGISTRY, CleanContext, CleanError
from crawler.rules.model import MISSING, FieldSpec
from crawler.spider.extract.inputs import EMPTY_VALUES, Scope
from crawler.spider.extract.selectors import compile_selector, plugin_extractor


@dataclass
class FieldOutcome:
    value: Any
    raw: Any = MISSING  # kept when a cleaner failed
    clean_error: str | None = None
    error: str | None = None  # the item is invalid (required field empty)


class CompiledField:
    __slots__ = ("name", "spec", "find", "chain")

    def __init__(self, spec: FieldSpec):
        self.name = spec.name
        self.spec = spec
        if spec.generic:
            self.find = generic_value(spec.name)
        elif spec.extractor is not None:
            self.find = plugin_extractor(spec.extractor, dict(spec.args))
        elif spec.value is not MISSING:
            self.find = None
        else:
            self.find = compile_selector(spec.selector, text=spec.text)
        self.chain = REGISTRY.compile(spec.clean) if spec.clean is not None else None

    def __call__(self, scope: Scope, ctx: CleanContext) -> FieldOutcome:
        spec = self.spec
        if self.find is None:
            value = spec.value
        else:
            values = self.find(scope)
            value = values if spec.all else (values[0] if values else None)
        outcome = FieldOutcome(value)
        # The chain runs on every value, nothing found included (None, or [] for `all: true`),
        # as an item type's chains do: each cleaner says what nothing means to it (`join` gives
        # "", `default` its value, `first` None; the others pass None and map over lists).
        if self.chain is not None:
            try:
                outcome.value = self.chain(value, ctx)
            except CleanError as exc:
                outcome.raw, outcome.value, outcome.clean_error = value, None, str(exc)
        if outcome.value in EMPTY_VALUES and spec.default is not None:
            outcome.value = spec.default
        if spec.required and outcome.value in EMPTY_VALUES:
            outcome.error = "required field is empty" + (
                f" ({outcome.clean_error})" if outcome.clean_error else ""
            )
        return outcome


def generic_value(name: str) -> Any:
    """A field with no source of its own: the page's generic value (extract:), as one value
    (a list stays whole: tags, images)."""

    def find(scope: Scope) -> list[Any]:
        values = scope.page.generic or {}
        value = values.get(name)
        return [] if value is None else [value]

    return find
