"""Settings for the proxy pool: ``proxies.defaults`` under whatever the caller gives.

:class:`PoolSettings` answers Scrapy's getters (``get``, ``getint``, ``getfloat``, ``getbool``,
``getlist``, ``getdict``) from, in order: ``-s`` overrides, the caller's settings (a Scrapy
``Settings``, a plain mapping, or nothing), the environment (only when asked, for
``python -m proxies``), then :mod:`proxies.defaults`. Every component takes its settings through
:meth:`PoolSettings.wrap`, so a Scrapy ``Settings`` (which holds the defaults through
``crawler/settings.py``'s star import) and a dict of a few names both work.

>>> s = PoolSettings({"PROXY_POOL_CHECK_TIMEOUT": "2.5"})
>>> s.getfloat("PROXY_POOL_CHECK_TIMEOUT"), s.getint("PROXY_POOL_CHECK_CONCURRENCY")
(2.5, 200)
>>> PoolSettings(env={"PROXY_POOL_HTTPS": "yes"}).getbool("PROXY_POOL_HTTPS")
True
>>> PoolSettings().get("NOT_A_SETTING") is None
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from proxies import defaults

_MISSING = object()


def default_names() -> dict[str, Any]:
    """Every setting of :mod:`proxies.defaults` and its default (upper-case names only)."""
    return {k: getattr(defaults, k) for k in dir(defaults) if k.isupper()}


class PoolSettings:
    """Read-only layered settings with Scrapy's getters."""

    def __init__(
        self,
        base: Any = None,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._defaults = default_names()
        self._base = base
        self._overrides = dict(overrides or {})
        # only names that are settings are read from the environment
        self._env = {k: v for k, v in (env or {}).items() if k in self._defaults}

    @classmethod
    def wrap(cls, settings: Any) -> PoolSettings:
        """``settings`` itself if it is a PoolSettings, else layered over the defaults."""
        return settings if isinstance(settings, PoolSettings) else cls(settings)

    def __contains__(self, name: str) -> bool:
        return self._lookup(name) is not _MISSING

    def _lookup(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        base = self._base
        if base is not None and _has(base, name):
            return base[name]
        if name in self._env:
            return self._env[name]
        return self._defaults.get(name, _MISSING)

    def get(self, name: str, default: Any = None) -> Any:
        """The value, or ``default`` for a name no layer knows (never for a known setting)."""
        value = self._lookup(name)
        return default if value is _MISSING else value

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def getbool(self, name: str) -> bool:
        value = self.get(name)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("", "0", "false", "no", "off", "none"):
                return False
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return bool(value)

    def getint(self, name: str) -> int:
        return int(self._number(name, int))

    def getfloat(self, name: str) -> float:
        return float(self._number(name, float))

    def _number(self, name: str, kind: type) -> float:
        value = self.get(name)
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, not {value!r}") from None

    def getlist(self, name: str) -> list[Any]:
        value = self.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return list(_json(name, text))
            return [part.strip() for part in text.split(",") if part.strip()]
        return list(value)

    def getdict(self, name: str) -> dict[str, Any]:
        value = self.get(name)
        if value is None:
            return {}
        if isinstance(value, str):
            value = _json(name, value) if value.strip() else {}
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be a mapping (or its JSON text)")
        return dict(value)

    def getoptional(self, name: str) -> Any:
        """The value, with ``""`` and ``"none"`` (as from ``-s NAME=``) meaning None."""
        value = self.get(name)
        if isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
            return None
        return value


def _has(base: Any, name: str) -> bool:
    try:
        return name in base
    except TypeError:
        return False


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc.msg} at column {exc.colno}") from None


def load_object(path: str) -> Any:
    """The object a setting names by its dotted path (``proxies.pool_store.EmbeddedStore``)."""
    import importlib

    module, _, name = str(path).rpartition(".")
    if not module:
        raise ValueError(f"{path!r} is not a dotted path (module.Name)")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {path!r}: {exc}") from None
