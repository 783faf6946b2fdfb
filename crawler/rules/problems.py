"""Problems found in a rule or item-type file, and where in the file each one is.

One :class:`Problem` type serves every check (YAML syntax, JSON Schema, the platform's own
checks, settings): a severity, a ``file:line:column`` position and the dotted path of the field.
A :class:`Reporter` collects them for one file, placing each at the closest position known.

>>> report = Reporter("r.yaml", {("pages", "book"): Position(7, 3)})
>>> report.error(("pages", "book", "fields", "x"), "no selector")
>>> report.warning(("args",), "unused argument")
>>> [str(p) for p in report.problems]
['r.yaml:7:3: pages.book.fields.x: no selector', 'r.yaml:1:1: args: warning: unused argument']
>>> did_you_mean("titel", ["title", "price"])
" (did you mean 'title'?)"
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from crawler.rules.yamlpos import Path, Position, YamlError, load_yaml


class Severity(enum.Enum):
    ERROR = "error"  # the rule cannot be used
    WARNING = "warning"  # the rule works, but probably not as meant (reported, never fatal)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = Severity.ERROR
    # For a value a template gave (crawler/rules/inherit.py): the file:line:column of each link
    # of the chain after this position (the ``extends:`` line), ending where it was written.
    via: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        kind = "warning: " if self.severity is Severity.WARNING else ""
        chain = "".join(f" ← {link}" for link in self.via)
        return f"{self.file}:{self.line}:{self.column}{chain}: {where}{kind}{self.message}"


class RuleError(ValueError):
    """A rule (or item-type) file with errors; ``problems`` lists each one, warnings included."""

    def __init__(self, problems: list[Problem], inherits: tuple = ()):
        self.problems = problems
        self.inherits = inherits  # the templates read: a change to one of them may mend it
        super().__init__("\n".join(str(p) for p in problems if p.is_error))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def format_path(path: Path) -> str:
    """``("pages", "book", "links", 0)`` -> ``pages.book.links[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def split_path(text: str) -> Iterator[str | int]:
    """The inverse of :func:`format_path`: ``"a.b[2]"`` -> ``a``, ``b``, ``2``."""
    for part in re.split(r"\.|\[|\]", text):
        if part:
            yield int(part) if part.isdigit() else part


def did_you_mean(word: object, candidates: Iterable[object]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_yaml_or_refuse(text: str, filename: str) -> tuple[object, dict[Path, Position]]:
    """:func:`load_yaml`, with a file that is not YAML (or beyond its limits) refused as the
    :class:`RuleError` of one problem at its position."""
    try:
        return load_yaml(text, filename)
    except YamlError as exc:
        pos = exc.position
        problem = Problem(filename, pos.line, pos.column, format_path(exc.path), exc.message)
        raise RuleError([problem]) from None


class Reporter:
    """Collects the problems of one file, each placed at the closest known position."""

    def __init__(
        self,
        filename: str,
        positions: Mapping[Path, Position],
        via: Mapping[Path, tuple[str, ...]] | None = None,
    ):
        self.filename = filename
        self.positions = positions
        self.via = via or {}
        self.problems: list[Problem] = []

    def _closest(self, path: Path) -> Path:
        probe = tuple(path)
        while probe not in self.positions and probe:
            probe = probe[:-1]
        return probe

    def position(self, path: Path) -> Position:
        return self.positions.get(self._closest(path), Position(1, 1))

    def add(self, path: Path, message: str, severity: Severity = Severity.ERROR) -> None:
        closest = self._closest(path)
        pos = self.positions.get(closest, Position(1, 1))
        self.problems.append(
            Problem(
                self.filename,
                pos.line,
                pos.column,
                format_path(path),
                message,
                severity,
                self.via.get(closest, ()),
            )
        )

    def error(self, path: Path, message: str) -> None:
        self.add(path, message, Severity.ERROR)

    def warning(self, path: Path, message: str) -> None:
        self.add(path, message, Severity.WARNING)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line, p.column))
