"""A value shown in a message: short, and the same way everywhere."""

from __future__ import annotations

from typing import Any

PREVIEW_LIMIT = 80


def preview(value: Any, limit: int = PREVIEW_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters for error messages.

    >>> preview("abc")
    "'abc'"
    >>> len(preview("x" * 200)), preview("x" * 200)[-3:]
    (80, 'xx…')
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
