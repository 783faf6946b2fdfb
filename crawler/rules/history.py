"""The history of a rule file: every save a version, with its author, time and message.

History lives with the platform's data (``RULE_HISTORY_DIR``, under the data directory), never
inside ``rules/``, which stays a plain folder to keep in git. Each rule has a folder of
numbered entries, ``<name>/000001.json`` (the text and what is known of it); at most
``keep`` entries are kept per rule, the oldest dropped first. The first save through the data
service or ``scrapy rules restore`` of a file that has no history yet records the file as it
was, by ``(on disk)``, so that nothing written by hand is lost.

>>> import tempfile; from pathlib import Path
>>> history = RuleHistory(Path(tempfile.mkdtemp()))
>>> first = history.record("books", "name: books\\n", author="ann", message="first", version="a1")
>>> second = history.record("books", "name: books\\nx: 1\\n", author="bob", message="", version="b2")
>>> [(e.id, e.author) for e in history.entries("books")]
[(2, 'bob'), (1, 'ann')]
>>> print("".join(history.diff("books", 1, 2)), end="")
--- books@1 (ann)
+++ books@2 (bob)
@@ -1 +1,2 @@
 name: books
+x: 1
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
ENTRY = re.compile(r"^(\d{6,})\.json$")
MAX_MESSAGE = 500
ON_DISK = "(on disk)"


class HistoryError(ValueError):
    """An unknown rule or version; the message is for a person."""


@dataclass(frozen=True)
class Version:
    id: int
    at: str  # UTC, ISO 8601
    author: str
    message: str
    version: (
        str  # the rule's version (crawler.rules.compiler.rule_version), "" if it did not compile
    )
    size: int

    def json(self) -> dict:
        return asdict(self)


class RuleHistory:
    def __init__(self, directory: Path, keep: int = 500) -> None:
        self.directory = Path(directory)
        self.keep = keep

    def _folder(self, name: str) -> Path:
        if not NAME.match(name or ""):
            raise HistoryError(f"not a rule name: {name!r}")
        return self.directory / name

    def _ids(self, name: str) -> list[int]:
        folder = self._folder(name)
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := ENTRY.match(p.name)))

    def record(
        self, name: str, text: str, *, author: str, message: str = "", version: str = ""
    ) -> Version:
        """A new version of ``name`` (written atomically); returns it."""
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        ids = self._ids(name)
        entry = Version(
            id=(ids[-1] + 1) if ids else 1,
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            author=(author or "unknown")[:200],
            message=(message or "")[:MAX_MESSAGE],
            version=version,
            size=len(text.encode("utf-8")),
        )
        fd, tmp = tempfile.mkstemp(prefix=".entry.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({**entry.json(), "text": text}, out, ensure_ascii=False)
        os.replace(tmp, folder / f"{entry.id:06d}.json")
        for old in ids[: max(0, len(ids) + 1 - self.keep)]:
            (folder / f"{old:06d}.json").unlink(missing_ok=True)
        return entry

    def record_existing(self, name: str, path: Path, version: str = "") -> None:
        """Before the first recorded save of a file written by hand: keep it as it was."""
        if path.is_file() and not self._ids(name):
            self.record(name, path.read_text(encoding="utf-8"), author=ON_DISK, version=version)

    def save(
        self,
        name: str,
        path: Path,
        text: str,
        *,
        author: str,
        message: str = "",
        version: str = "",
        before: str = "",
    ) -> Version:
        """Write ``text`` over the rule file ``path`` atomically (a temporary file renamed over
        it) and record it as a new version; a file with no history yet is recorded first as it
        was (``before``: its version)."""
        self.record_existing(name, path, before)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.record(name, text, author=author, message=message, version=version)

    def entries(self, name: str) -> list[Version]:
        """Newest first."""
        return [self.get(name, i) for i in reversed(self._ids(name))]

    def _load(self, name: str, version_id: int) -> dict:
        path = self._folder(name) / f"{int(version_id):06d}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HistoryError(f"rule {name!r} has no version {version_id}") from None

    def get(self, name: str, version_id: int) -> Version:
        data = self._load(name, version_id)
        return Version(**{k: data[k] for k in Version.__dataclass_fields__})

    def text(self, name: str, version_id: int) -> str:
        return self._load(name, version_id)["text"]

    def latest(self, name: str) -> Version | None:
        ids = self._ids(name)
        return self.get(name, ids[-1]) if ids else None

    def diff(self, name: str, a: int, b: int | None, current: str | None = None) -> Iterator[str]:
        """A unified diff from version ``a`` to version ``b`` (None: ``current``, the file now)."""
        old = self.get(name, a)
        left = self.text(name, a)
        if b is None:
            right, right_name = current or "", f"{name} (now)"
        else:
            right, right_name = self.text(name, b), f"{name}@{b} ({self.get(name, b).author})"
        return difflib.unified_diff(
            left.splitlines(keepends=True),
            right.splitlines(keepends=True),
            fromfile=f"{name}@{a} ({old.author})",
            tofile=right_name,
        )
