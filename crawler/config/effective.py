"""The effective settings and where each came from, for ``scrapy config show``.

A setting's source is read from its Scrapy priority and the deployment's origins: ``-s`` (the
command line), ``rule NAME`` (a rule's ``settings:``, when a rule is given), the deployment
file's ``path:line:column`` or ``environment CRAWLER_NAME``, ``project`` (the settings module
changed it), ``command`` (the command's own default) or ``default``. Values are shown redacted
(:func:`crawler.config.secrets.redact`).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.config.deployment import Deployment
from crawler.config.secrets import redact
from crawler.defaults import GROUPS, settings_of

SCRAPY = "scrapy"


@dataclass(frozen=True)
class Row:
    name: str
    value: Any  # redacted
    source: str
    default: bool  # the source is the default

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "source": self.source}


@lru_cache(maxsize=1)
def defaults() -> dict[str, tuple[str, Any]]:
    """name -> (group, default value): Scrapy's defaults, then the platform's groups."""
    from scrapy.settings import default_settings

    found = {n: (SCRAPY, v) for n, v in settings_of(default_settings).items()}
    for group in GROUPS:
        found.update(
            (n, (group, v)) for n, v in settings_of(importlib.import_module(group)).items()
        )
    return found


def plain(value: Any) -> Any:
    if isinstance(value, BaseSettings):
        return value.copy_to_dict()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return value


def rows(
    settings: BaseSettings,
    deployment: Deployment,
    *,
    rule: tuple[str, Iterable[str]] | None = None,
    names: Iterable[str] = (),
    every: bool = False,
    project: str = "project",
) -> list[Row]:
    """One row per setting: every setting named in ``names``; else the platform's own and the
    others set anywhere but their defaults (``every``: all of them). ``rule``: the rule's name
    and the settings it gave (applied at spider priority to ``settings`` already)."""
    known = defaults()
    rule_name, rule_settings = rule if rule else ("", ())
    rule_set = set(rule_settings)
    wanted = list(names) or sorted(set(settings.attributes) | set(known))
    found = []
    for name in wanted:
        if name not in settings.attributes:
            continue
        with warnings.catch_warnings():  # a deprecated setting is shown, not warned about
            warnings.simplefilter("ignore")
            value = plain(settings.get(name))
        source = _source(settings, name, value, deployment, rule_name, rule_set, project)
        is_default = source == "default"
        platform = known.get(name, ("", None))[0] != SCRAPY
        if names or every or platform or source not in ("default", "command"):
            origin = deployment.origins.get(name)
            hidden = origin.hidden if origin and source == origin.where else ()
            found.append(Row(name, redact(name, value, hidden), source, is_default))
    return found


def _source(
    settings: BaseSettings,
    name: str,
    value: Any,
    deployment: Deployment,
    rule_name: str,
    rule_set: set[str],
    project: str,
) -> str:
    priority = settings.getpriority(name) or 0
    if rule_name and name in rule_set and priority == SETTINGS_PRIORITIES["spider"]:
        return f"rule {rule_name}"
    if priority >= SETTINGS_PRIORITIES["cmdline"]:
        return "-s"
    origin = deployment.origins.get(name)
    if origin is not None and _same(plain(deployment.values.get(name)), value):
        return origin.where
    default = defaults().get(name)
    if default is not None and _same(plain(default[1]), value):
        return "default"
    if priority >= SETTINGS_PRIORITIES["project"]:
        return project
    if priority >= SETTINGS_PRIORITIES["command"]:
        return "command"
    return "default"


def _same(a: Any, b: Any) -> bool:
    return plain(a) == plain(b) or (
        isinstance(a, Mapping) and isinstance(b, Mapping) and dict(a) == dict(b)
    )


def text_lines(found: Iterable[Row]) -> list[str]:
    """``NAME = value  # source``, values as JSON."""
    import json

    lines = []
    for row in found:
        shown = json.dumps(row.value, ensure_ascii=False, default=str)
        lines.append(f"{row.name} = {shown}  # {row.source}")
    return lines
