"""Reading ``Retry-After``: how long a site asks a client to wait.

>>> parse_retry_after("7")
7.0
>>> parse_retry_after("soon") is None
True
"""

from __future__ import annotations

import email.utils
import time


def parse_retry_after(value: str | bytes | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
