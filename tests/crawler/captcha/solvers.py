"""A solver for tests: it always answers, always wrongly (the gate's alphabet has no Z)."""

from __future__ import annotations

from typing import Any


class WrongSolver:
    name = "wrong"

    @classmethod
    def from_crawler(cls, crawler: Any) -> WrongSolver:
        return cls()

    async def solve(self, image: bytes, *, url: str) -> str:
        assert image[:4] == b"\x89PNG"  # it was given the gate's image
        return "ZZZZ"
