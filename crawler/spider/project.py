"""The project's view of its rules: the compile context built from Scrapy settings.

The rule compiler (:mod:`crawler.rules`) is pure; here the Scrapy side tells it what this
project has: cleaners and extractors (after importing ``PLUGIN_MODULES``), the settings catalog
(:func:`crawler.defaults.catalog`), the start-request limit, the OAuth providers and the
anti-ban side's user-agent data. The spider loader, every command
and the data service compile rules through these functions, so they all agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from cleaners.registry import REGISTRY, load_modules
from crawler.antiban import check_user_agent_filters
from crawler.core.plugins import check_extractor, extractor_names
from crawler.defaults import catalog
from crawler.rules import CompileContext, Rule, Ruleset, compile_rule, load_rule, load_rules
from crawler.rules.files import fingerprint


def load_plugins(settings: BaseSettings) -> None:
    """Import the project's plugin modules (``PLUGIN_MODULES``) so rules can name their cleaners
    and extractors like the built-in ones. A module that fails to import is a usage error."""
    try:
        load_modules(settings.getlist("PLUGIN_MODULES"))
    except ImportError as exc:
        raise UsageError(str(exc), print_help=False) from None


def compile_context(settings: BaseSettings, **overrides: Any) -> CompileContext:
    """What rules of this project are compiled against (plugins imported first)."""
    load_plugins(settings)
    settings_catalog = catalog()
    providers = frozenset(oauth_provider_names(settings))
    values: dict[str, Any] = dict(
        cleaners=REGISTRY.check,
        extractors=check_extractor,
        settings=settings_catalog,
        max_start_requests=settings.getint("RULE_MAX_START_REQUESTS"),
        oauth_providers=providers,
        user_agents=check_user_agent_filters,
        rules_dir=Path(settings.get("RULES_DIR") or "rules"),
        fingerprint=fingerprint(
            REGISTRY.names(),
            extractor_names(),
            len(settings_catalog),
            settings.getint("RULE_MAX_START_REQUESTS"),
            sorted(providers),
        ),
    )
    return CompileContext(**{**values, **overrides})


def oauth_provider_names(settings: BaseSettings) -> list[str]:
    """The providers of ``OAUTH_PROVIDERS`` (a dict, or its JSON given with ``-s``)."""
    try:
        providers = settings.getdict("OAUTH_PROVIDERS")
    except ValueError:
        return []  # the crawl reports the broken setting where it reads it
    return [str(name) for name in dict(providers)]


def project_rules(settings: BaseSettings) -> Ruleset:
    """Every rule under ``RULES_DIR``, its item types, and the problems of the broken files."""
    return load_rules(settings.get("RULES_DIR"), compile_context(settings))


def project_rule(path: str | Path, settings: BaseSettings) -> Rule:
    """One rule file, compiled as the crawl would (:class:`RuleError` lists its problems)."""
    return load_rule(path, compile_context(settings))


def parse_rule(
    text: str, settings: BaseSettings | None = None, *, filename: str = "<rule>", **overrides: Any
) -> Rule:
    """Compile rule text (a test, the editor of the data service) with the project's context."""
    if settings is None:
        from scrapy.utils.project import get_project_settings

        settings = get_project_settings()
    return compile_rule(text, filename=filename, context=compile_context(settings, **overrides))
