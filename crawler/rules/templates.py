"""URL templates in rules: ``{name}`` from rule arguments, ``{1..50}`` (or ``{0..100..20}``) ranges.

A range may use arguments for its bounds (``{1..{pages}}``); ``{{`` and ``}}`` are literal braces.

>>> expand("http://h/{cat}/page/{1..3}", {"cat": "books"})
['http://h/books/page/1', 'http://h/books/page/2', 'http://h/books/page/3']
>>> expand("http://h/?o={0..40..20}", {})
['http://h/?o=0', 'http://h/?o=20', 'http://h/?o=40']
>>> sorted(placeholders("{site}/x/{1..{n}}"))
['n', 'site']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RANGE = re.compile(r"\{(-?\d+)\.\.(-?\d+)(?:\.\.(\d+))?\}")
_ANY = re.compile(r"\{\{|\}\}|\{[^{}]*\}")
_MAX_EXPANSION = 100_000


class MissingArgument(KeyError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"missing argument {self.name!r}"


def placeholders(template: str) -> set[str]:
    """Names of the arguments a template uses; ValueError for a malformed placeholder."""
    names: set[str] = set()
    inner = _NAME.sub(lambda m: names.add(m.group(1)) or "0" if m.group(1) else "", template)
    for match in _ANY.finditer(inner):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if not _RANGE.fullmatch(token):
            raise ValueError(
                f"malformed placeholder {token!r}: use {{name}} for an argument or {{1..10}} for a range"
            )
    if re.search(r"(?<!\{)\{(?!\{)|(?<!\})\}(?!\})", _ANY.sub("", inner)):
        raise ValueError("unbalanced brace in template (write {{ or }} for a literal brace)")
    return names


def substitute(template: str, args: Mapping[str, Any]) -> str:
    """Replace ``{name}`` placeholders; ranges are left for :func:`expand`."""

    def repl(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)  # keep {{ }} for the final unescape
        name = match.group(1)
        if name not in args or args[name] is None:
            raise MissingArgument(name)
        return str(args[name])

    return _NAME.sub(repl, template)


def expand(template: str, args: Mapping[str, Any]) -> list[str]:
    """All URLs a template stands for, in order."""
    results = [substitute(template, args)]
    while True:
        match = _RANGE.search(results[0]) if results else None
        if match is None:
            break
        expanded: list[str] = []
        for text in results:
            m = _RANGE.search(text)
            low, high, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
            if step <= 0:
                raise ValueError(f"range step must be positive in {m.group(0)!r}")
            direction = 1 if high >= low else -1
            values = range(low, high + direction, step * direction)
            expanded.extend(text[: m.start()] + str(v) + text[m.end() :] for v in values)
            if len(expanded) > _MAX_EXPANSION:
                raise ValueError(f"template expands to more than {_MAX_EXPANSION} URLs")
        results = expanded
    return [r.replace("{{", "{").replace("}}", "}") for r in results]
