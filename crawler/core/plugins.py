"""Project plugins: field extractors written in Python, named from YAML like built-in selectors.

The escape hatch for what XPath, CSS, regex and JMESPath cannot say. A project module listed in
the ``PLUGIN_MODULES`` setting registers extractors (and cleaners, with ``cleaners.cleaner``)::

    from crawler.core.plugins import extractor

    @extractor("og")
    def open_graph(page, *, prop: str):
        '''The content of <meta property="og:PROP">.'''
        return page.node.xpath(f"//meta[@property='og:{prop}']/@content")

and a rule uses it: ``image: {extractor: og, args: {prop: image}, clean: [absolute_url]}``.

An extractor receives the scope it runs on (the page, or one row): ``page.node`` (the lxml
element, for HTML), ``page.data`` (parsed JSON), ``page.text``, ``page.url`` and
``page.response``; it returns a value or a list of values, which then go through ``all``,
``clean``, ``default`` and ``required`` like any selector's.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

_EXTRACTORS: dict[str, Callable[..., Any]] = {}


def extractor(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(page, **args)`` under ``name``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        existing = _EXTRACTORS.get(name)
        if existing is not None and existing.__qualname__ != fn.__qualname__:
            raise ValueError(f"extractor {name!r} is already registered by {existing.__module__}")
        _EXTRACTORS[name] = fn
        return fn

    return register


def get_extractor(name: str) -> Callable[..., Any]:
    return _EXTRACTORS[name]


def check_extractor(name: str, args: Mapping[str, Any] | None) -> list[str]:
    """Problems with using extractor ``name`` with ``args``; empty when fine."""
    fn = _EXTRACTORS.get(name)
    if fn is None:
        close = difflib.get_close_matches(name, list(_EXTRACTORS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(_EXTRACTORS)) or "none: list your module in PLUGIN_MODULES"
        return [f"unknown extractor {name!r}{hint}; registered: {known}"]
    params = list(inspect.signature(fn).parameters.values())[1:]  # the first one is the page
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return []
    names = [p.name for p in params]
    problems = []
    for arg in args or {}:
        if arg not in names:
            close = difflib.get_close_matches(str(arg), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"extractor {name!r}: unexpected argument {arg!r}{hint}")
    for param in params:
        if param.default is param.empty and param.name not in (args or {}):
            problems.append(f"extractor {name!r}: missing argument {param.name!r}")
    return problems


def extractor_names() -> list[str]:
    return sorted(_EXTRACTORS)
