"""A field compiled once: its selector (or constant, or extractor), what to take, its cleaner
chain (run on every value, nothing found included), default and required check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag

from cleaners.registry import REGISTRY, CleanContext, CleanError
from crawler.rules.model import MISSING, FieldSpec
from crawler.spider.extract.inputs import EMPTY_VALUES, PageInput, Scope
from crawler.spider.extract.links import link_url
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
        elif spec.files is not None:  # links to files: <a> elements give their href, as links do
            sel = spec.selector
            elements = sel.kind in ("xpath", "css") and sel.regex is None
            self.find = compile_selector(sel, text=spec.text, elements=elements)
        else:
            self.find = compile_selector(spec.selector, text=spec.text)
        self.chain = REGISTRY.compile(spec.clean) if spec.clean is not None else None

    def __call__(self, scope: Scope, ctx: CleanContext) -> FieldOutcome:
        spec = self.spec
        if self.find is None:
            value = spec.value
        else:
            values = self.find(scope)
            if (
                spec.files is not None
            ):  # every link, absolute, once; the files pipeline fetches them
                values = file_urls(values, scope.page)
            value = (
                values if spec.all or spec.files is not None else (values[0] if values else None)
            )
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


def file_urls(values: list[Any], page: PageInput) -> list[str]:
    """The URLs of a files field's values (elements, URLs, lists of them: the generic
    ``attachments``), resolved against the page's URL, without fragments, each once. Links to
    no file (``#top``, ``javascript:``, ``mailto:``) are left out; other schemes stay, for the
    files pipeline to refuse and count."""
    out: dict[str, None] = {}
    for value in values:
        for one in value if isinstance(value, list) else [value]:
            raw = link_url(one)
            if raw is not None:
                out[urldefrag(page.urljoin(raw))[0]] = None
    return list(out)


def generic_value(name: str) -> Any:
    """A field with no source of its own: the page's generic value (extract:), as one value
    (a list stays whole: tags, images)."""

    def find(scope: Scope) -> list[Any]:
        values = scope.page.generic or {}
        value = values.get(name)
        return [] if value is None else [value]

    return find
