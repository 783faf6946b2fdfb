"""``settings:``: Scrapy settings for this rule's spider, applied last (they win over what the
other sections map to).

A rule is data: it may set only settings the catalog declares safe for rules (plain values:
delays, concurrency, timeouts, depth, robots, encodings, retry codes...). A setting that names a
class, a module, a file or an output belongs in the project's settings or ``-s``. Every value is
checked against the setting's declared type and allowed values, at its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.problems import did_you_mean
from crawler.rules.sections import Section
from crawler.rules.settings_catalog import SettingsCatalog

PROPERTIES = {
    "settings": {
        "type": "object",
        "description": "Scrapy settings for this rule's spider (DOWNLOAD_DELAY, CONCURRENT_REQUESTS, "
        "...): plain values only; settings naming classes, files or outputs belong in the "
        "project's settings or -s.",
        "propertyNames": {"pattern": "^[A-Z][A-Z0-9_]*$"},
    }
}


def setting_problems(
    settings: Mapping[str, Any], catalog: SettingsCatalog
) -> Iterator[tuple[str, str]]:
    """``(name, message)`` for every setting a rule may not set as written. An empty catalog
    checks nothing (the compiler was given no settings to check against)."""
    if not catalog:
        return
    for name, value in settings.items():
        spec = catalog.get(name)
        if spec is None:
            hint = did_you_mean(name, catalog.names())
            yield name, f"unknown setting {name!r}{hint}"
        elif not spec.rule_safe:
            yield (
                name,
                f"{name} cannot be set by a rule (it names code, files or outputs): set it in the "
                f"project's settings or with -s {name}=...",
            )
        else:
            message = spec.value_problem(value)
            if message:
                yield name, f"{name} {message}"


def build(ctx: BuildContext) -> MappingProxyType:
    settings = ctx.data.get("settings")
    if not isinstance(settings, dict) or ctx.broken(("settings",)):
        return MappingProxyType({})
    for name, message in setting_problems(settings, ctx.env.settings):
        ctx.error(("settings", name), message)
    return MappingProxyType(dict(settings))


def to_settings(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    return settings


SECTION = Section(
    name="settings", order=100, properties=PROPERTIES, build=build, settings=to_settings
)
