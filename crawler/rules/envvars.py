"""``${NAME}`` references to environment variables in rule values (secrets stay out of files).

>>> env_refs("Bearer ${API_TOKEN}"), expand_env("${USER_ID:-guest}", {})
(['API_TOKEN'], 'guest')
>>> expand_env("${MISSING}", {})
Traceback (most recent call last):
...
KeyError: 'environment variable MISSING is not set'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def env_refs(value: str) -> list[str]:
    """Names of the environment variables ``value`` needs (``${NAME}`` without a default)."""
    return [m.group(1) for m in ENV_REF.finditer(value) if m.group(2) is None]


def expand_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${NAME}`` (and ``${NAME:-default}``) with the environment's values.

    Raises KeyError naming the variable (never its value) if one is unset and has no default.
    """
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise KeyError(f"environment variable {name} is not set")

    return ENV_REF.sub(sub, value)
