"""What happened when a request went out through a proxy (or direct)."""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    """What happened when a proxy was used."""

    SUCCESS = "success"
    FAILURE = "failure"  # connection refused, reset, timeout: the proxy's fault or the network's
    BAN = "ban"  # the target answered, but with a block page, a captcha or a ban status
