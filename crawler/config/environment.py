"""Settings from the environment: ``CRAWLER_<NAME>=value`` sets the setting ``NAME``.

Some ``CRAWLER_`` variables of the platform are not settings (:data:`NOT_SETTINGS`: where the
data, the state and the deployment file are, the systemd units' own words, secrets the platform
reads by name), and neither is any variable a setting names as the home of a secret (the value
of a ``..._ENV`` setting, of an ``..._env`` key inside one): those are left alone. Any other
``CRAWLER_`` variable that names no setting is a warning with the closest setting's variable.

>>> found = setting_variables({"CRAWLER_LOG_LEVEL": "DEBUG", "CRAWLER_DATA_DIR": "/d",
...     "CRAWLER_STORE_URL": "x", "PATH": "/bin"}, ["LOG_LEVEL", "STORE_URI"], {})
>>> found.texts
{'LOG_LEVEL': ('CRAWLER_LOG_LEVEL', 'DEBUG')}
>>> found.warnings
["environment variable CRAWLER_STORE_URL is not a setting (did you mean 'CRAWLER_STORE_URI'?)"]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler.rules.problems import did_you_mean

PREFIX = "CRAWLER_"
# The platform's environment variables that are not settings (vocab/datadir.py,
# vocab/statedir.py, the deployment file, deploy/*.service, the defaults of SERVICE_TOKENS_ENV
# and SIGNIN_SECRET_ENV).
NOT_SETTINGS = frozenset(
    {
        "CRAWLER_CONFIG",
        "CRAWLER_DATA_DIR",
        "CRAWLER_STATE_DIR",
        "CRAWLER_SETTINGS",
        "CRAWLER_SERVE_HOST",
        "CRAWLER_SERVE_PORT",
        "CRAWLER_SERVICE_TOKENS",
        "CRAWLER_SESSION_SECRET",
    }
)


@dataclass
class Found:
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (variable, text)
    warnings: list[str] = field(default_factory=list)


def named_variables(values: Mapping[str, Any]) -> set[str]:
    """The environment variables settings name as the home of a secret or a list: values of
    ``..._ENV`` settings and of ``..._env`` keys inside mappings and lists."""
    found: set[str] = set()

    def walk(key: str, value: Any) -> None:
        if isinstance(value, str) and key.upper().endswith("_ENV") and value:
            found.add(value)
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(str(k), v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk("", v)

    for name, value in values.items():
        walk(name, value)
    return found


def has_setting_variables(environ: Mapping[str, str]) -> bool:
    """Whether any ``CRAWLER_`` variable could be a setting's (a quick look before the work)."""
    return any(k.startswith(PREFIX) and k not in NOT_SETTINGS for k in environ)


def setting_variables(
    environ: Mapping[str, str],
    names: Collection[str],
    values: Mapping[str, Any],
    skip: Collection[str] = (),
) -> Found:
    """The ``CRAWLER_<NAME>`` variables of settings in ``names`` with their text, and a warning
    for each other ``CRAWLER_`` variable that is not one of the platform's own (``values``: the
    settings so far, for the variables they name; ``skip``: more variables that are not
    settings, e.g. those the deployment file's references name)."""
    found = Found()
    skipped = NOT_SETTINGS | named_variables(values) | set(skip)
    for variable in sorted(k for k in environ if k.startswith(PREFIX)):
        if variable in skipped:
            continue
        name = variable.removeprefix(PREFIX)
        if name in names:
            found.texts[name] = (variable, environ[variable])
        else:
            found.warnings.append(
                f"environment variable {variable} is not a setting{_hint(name, names)}"
            )
    return found


def _hint(name: str, names: Iterable[str]) -> str:
    return did_you_mean(name, names).replace(" '", " '" + PREFIX, 1)
