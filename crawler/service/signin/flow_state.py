"""The ``state`` of a sign-in in progress (CSRF), for the flows written here rather than by
Authlib (WeChat's, the presets'): issued at the start and kept in the browser's session with
what the flow needs at its end, then taken back once, within ``SIGNIN_STATE_TTL``.

>>> session, now = {}, lambda: 100.0
>>> state = issue_state(session, "_s", 60, now, redirect_uri="/back")
>>> take_state(session, "_s", "forged", now), "_s" in session  # refused, and gone
(None, False)
>>> state = issue_state(session, "_s", 60, now, redirect_uri="/back")
>>> take_state(session, "_s", state, now)["redirect_uri"]
'/back'
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

STATE = re.compile(r"^[A-Za-z0-9]{1,128}$")


def issue_state(
    session: dict[str, Any], key: str, ttl: float, clock: Callable[[], float], **kept: Any
) -> str:
    """A new state, kept under ``key`` in ``session`` with ``kept`` until ``ttl`` seconds on."""
    state = secrets.token_hex(16)
    session[key] = {"state": state, "exp": clock() + ttl, **kept}
    return state


def take_state(
    session: dict[str, Any], key: str, state: str, clock: Callable[[], float]
) -> dict[str, Any] | None:
    """What :func:`issue_state` kept, taken out of ``session`` (once, whatever the answer);
    None when ``state`` is not the one issued, or it expired."""
    expected = session.pop(key, None)
    if (
        not isinstance(expected, dict)
        or not STATE.match(state)
        or expected.get("exp", 0) < clock()
        or not secrets.compare_digest(state, str(expected.get("state", "")))
    ):
        return None
    return expected
