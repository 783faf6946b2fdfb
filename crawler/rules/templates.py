"""URL templates in rules: ``{name}`` from rule arguments, ``{1..50}`` (or ``{0..100..20}``) ranges.

A range may use arguments for its bounds (``{1..{pages}}``); ``{{`` and ``}}`` are literal braces;
``${NAME}`` (an environment variable, in headers) is left for :mod:`crawler.rules.envvars`.
Ranges are generated lazily, so a template standing for many URLs costs memory only for the
requests in flight; :func:`count` says how many URLs a template stands for without making them.

>>> list(expand("http://h/{cat}/page/{1..3}", {"cat": "books"}))
['http://h/books/page/1', 'http://h/books/page/2', 'http://h/books/page/3']
>>> list(expand("http://h/?o={0..40..20}", {}))
['http://h/?o=0', 'http://h/?o=20', 'http://h/?o=40']
>>> count("{site}/p/{1..100000000}", {"site": "x"})
100000000
>>> sorted(placeholders("{site}/x/{1..{n}}"))
['n', 'site']
>>> substitute("Bearer ${TOKEN} for {user}", {"user": "ann"}), placeholders("${TOKEN}")
('Bearer ${TOKEN} for ann', set())
>>> placeholders("{0..10..0}")
Traceback (most recent call last):
...
ValueError: range step must be positive in '{0..10..0}'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_NAME = re.compile(r"\{\{|\}\}|(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV = re.compile(r"\$\{[^{}]*\}")  # ${NAME}: an environment variable, expanded elsewhere
_RANGE = re.compile(r"\{(-?\d{1,18})\.\.(-?\d{1,18})(?:\.\.(-?\d{1,18}))?\}")
_ANY = re.compile(r"\{\{|\}\}|\{[^{}]*\}")


class MissingArgument(KeyError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"missing argument {self.name!r}"


def _range(match: re.Match) -> range:
    low, high, step = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    if step <= 0:
        raise ValueError(f"range step must be positive in {match.group(0)!r}")
    direction = 1 if high >= low else -1
    return range(low, high + direction, step * direction)


def placeholders(template: str) -> set[str]:
    """Names of the arguments a template uses; ValueError for a malformed placeholder."""
    names: set[str] = set()
    template = _ENV.sub("", template)
    # an argument stands in as 1 here, so that a range with argument bounds checks its step only
    inner = _NAME.sub(lambda m: names.add(m.group(1)) or "1" if m.group(1) else "", template)
    for match in _ANY.finditer(inner):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        full = _RANGE.fullmatch(token)
        if not full:
            raise ValueError(
                f"malformed placeholder {token!r}: use {{name}} for an argument or {{1..10}} for a range"
            )
        _range(full)
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


def count(template: str, args: Mapping[str, Any]) -> int:
    """How many URLs ``template`` stands for with ``args``, without generating them."""
    text = substitute(template, args)
    total = 1
    for match in _RANGE.finditer(text):
        total *= len(_range(match))
    return total


def expand(template: str, args: Mapping[str, Any]) -> Iterator[str]:
    """Every URL a template stands for, in order, one at a time."""
    text = substitute(template, args)
    ranges = [(m, _range(m)) for m in _RANGE.finditer(text)]  # checked before the first URL

    def walk(index: int, prefix: str, pos: int) -> Iterator[str]:
        if index == len(ranges):
            yield (prefix + text[pos:]).replace("{{", "{").replace("}}", "}")
            return
        match, values = ranges[index]
        head = prefix + text[pos : match.start()]
        for value in values:
            yield from walk(index + 1, head + str(value), match.end())

    return walk(0, "", 0)
