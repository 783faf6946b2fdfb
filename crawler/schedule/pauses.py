"""Paused schedules: a rule whose flag file exists under ``SCHEDULE_DIR/paused/`` is not
started by the scheduler daemon (its fire times pass by) until it is resumed. The data service
pauses and resumes; the daemon only reads.

>>> import tempfile
>>> pauses = Pauses(tempfile.mkdtemp())
>>> pauses.pause("books"); pauses.is_paused("books"), sorted(pauses.paused())
(True, ['books'])
>>> pauses.resume("books"); pauses.is_paused("books")
False
"""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^[\w.-]{1,200}$")


class Pauses:
    def __init__(self, state_dir: str | Path) -> None:
        self.directory = Path(state_dir) / "paused"

    def _flag(self, rule: str) -> Path:
        if not _NAME.match(rule) or rule in (".", ".."):
            raise ValueError(f"not a rule name: {rule!r}")
        return self.directory / rule

    def is_paused(self, rule: str) -> bool:
        try:
            return self._flag(rule).exists()
        except ValueError:
            return False

    def pause(self, rule: str) -> None:
        flag = self._flag(rule)
        self.directory.mkdir(parents=True, exist_ok=True)
        flag.touch()

    def resume(self, rule: str) -> None:
        self._flag(rule).unlink(missing_ok=True)

    def paused(self) -> set[str]:
        if not self.directory.is_dir():
            return set()
        return {p.name for p in self.directory.iterdir() if p.is_file()}
