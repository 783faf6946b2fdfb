"""Rule and item-type files on disk: finding them, reading them (bounded), and a cache of
compiled results that a changed file invalidates.

A cache entry is keyed on the file's path, size and modification time and on a fingerprint of
what it was compiled against (the item-type files, the environment, the compile context), so a
long-running process (the scheduler, the data service) sees every edit and never a stale rule.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from crawler.rules.problems import Problem, RuleError

RULE_SUFFIXES = (".yaml", ".yml")
TYPES_DIR = "types"
MAX_FILE_BYTES = 1_000_000  # a rule file is text a person writes; larger is a mistake or an attack

T = TypeVar("T")


def rule_files(rules_dir: str | Path) -> list[Path]:
    base = Path(rules_dir)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def types_dir(rules_dir: str | Path) -> Path:
    return Path(rules_dir) / TYPES_DIR


def item_type_files(rules_dir: str | Path) -> list[Path]:
    return rule_files(types_dir(rules_dir))


def read_text(path: str | Path, what: str = "rule file") -> str:
    """The file's text, or :class:`RuleError` saying why it cannot be read (too big, not UTF-8)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RuleError([Problem(str(path), 1, 1, "", f"cannot read {what}: {exc}")]) from None
    if len(data) > MAX_FILE_BYTES:
        message = f"{what} is larger than {MAX_FILE_BYTES:,} bytes"
        raise RuleError([Problem(str(path), 1, 1, "", message)])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x})"
        raise RuleError([Problem(str(path), line, column, "", message)]) from None


def stamp(path: Path) -> tuple[Hashable, ...]:
    """What changes when the file does: size and modification time (nanoseconds)."""
    try:
        st = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), st.st_size, st.st_mtime_ns)


def fingerprint(*parts: Any) -> str:
    """A short digest of what a compile depended on."""
    return hashlib.sha256(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()[:16]


class CompileCache:
    """Results (or :class:`RuleError`) of compiling files, bounded, keyed on file stamps; a result
    that read other files (``inherits``: the templates of a rule) is also stale when one of them
    changed."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, tuple[bool, Any, tuple]] = OrderedDict()

    def get(self, path: Path, depends_on: str, compile_file: Callable[[Path], T]) -> T:
        key = (stamp(path), depends_on)
        hit = self._entries.get(key)
        if hit is not None and any(stamp(Path(s[0])) != s for s in hit[2]):
            hit = None  # a template it extends changed
        if hit is None:
            try:
                value: Any = compile_file(path)
                ok = True
            except RuleError as exc:
                value, ok = exc, False
            hit = (ok, value, tuple(stamp(p) for p in getattr(value, "inherits", ())))
            self._entries[key] = hit
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        ok, value, _ = hit
        if not ok:
            raise value
        return value

    def clear(self) -> None:
        self._entries.clear()
