"""What a rule is compiled against, and what a section sees while it builds its part.

:class:`CompileContext` is the environment: the cleaners, extractors, item types, settings,
user agents and environment variables a rule may name. The compiler is pure; the Scrapy side
(:mod:`crawler.spider.project`) fills the context from the project's settings. Left at its
defaults, a context knows the built-in cleaners, no extractors, no settings and no user agents.

:class:`BuildContext` is one file being compiled: its data, its problems, and the checks that
several sections share (templates, page-type references, durations).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from crawler.rules import templates
from crawler.rules.problems import Reporter, did_you_mean
from crawler.rules.settings_catalog import SettingsCatalog
from crawler.rules.yamlpos import Path

# (chain spec) -> [(index, message)]; index is the position in a list chain
CleanerCheck = Callable[[Any], list[tuple[int, str]]]
# (extractor name, args) -> [message]
ExtractorCheck = Callable[[str, Mapping[str, Any] | None], list[str]]
# (an antiban: section's user_agent:) -> [(path under it, message)]: what the user-agent data
# says of the filters (unknown names, no agent matching them)
UserAgentCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]


def _builtin_cleaner_check(spec: Any) -> list[tuple[int, str]]:
    from cleaners.registry import REGISTRY

    return REGISTRY.check(spec)


def _no_extractors(name: str, args: Mapping[str, Any] | None) -> list[str]:
    return [f"unknown extractor {name!r}: list your module in PLUGIN_MODULES"]


DEFAULT_MAX_START_REQUESTS = 100_000


@dataclass(frozen=True)
class CompileContext:
    """The environment a rule is compiled against."""

    cleaners: CleanerCheck = _builtin_cleaner_check
    extractors: ExtractorCheck = _no_extractors
    item_types: Mapping[str, Any] | None = None  # name -> ItemType; None: rules_dir/types
    settings: SettingsCatalog = field(default_factory=SettingsCatalog)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # What the cleaners, extractors and settings above amount to (their names, say): compiled
    # rules are cached until this, a rule file, an item-type file or the environment changes.
    fingerprint: str = ""
    max_start_requests: int = DEFAULT_MAX_START_REQUESTS  # setting RULE_MAX_START_REQUESTS
    # Names of the OAuth providers an ``auth:`` section may name (OAUTH_PROVIDERS); None: unknown.
    oauth_providers: frozenset[str] | None = None
    # The anti-ban side's user-agent data, through its check; None: user_agent: filters are
    # checked by the schema only.
    user_agents: UserAgentCheck | None = None
    # Where ``extends:`` finds templates for text compiled without a file (the editor's draft);
    # a rule file's own folder otherwise.
    rules_dir: FilePath | None = None


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``15m``, ``12h``, ``7d`` or ``2w`` (the schema
    has already checked the shape).

    >>> parse_duration("7d"), parse_duration("1.5h"), parse_duration(" 30 s ")
    (604800.0, 5400.0, 30.0)
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw])\s*", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use 30s, 15m, 12h, 7d or 2w)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


class BuildContext:
    """One rule file while its sections build: data, problems, shared checks."""

    def __init__(
        self,
        data: Mapping[str, Any],
        report: Reporter,
        env: CompileContext,
        item_types: Mapping[str, Any],
        schema_errors: frozenset[Path] = frozenset(),
        unknown_keys: frozenset[Path] = frozenset(),
    ) -> None:
        self.data = data
        self.report = report
        self.env = env
        self.item_types = item_types
        self.schema_errors = schema_errors
        # Mappings holding a misspelt key: which keys they have is not what the author meant, so
        # a check of their keys as a whole ("needs a selector") waits until the key is fixed.
        self._misspelt = frozenset(tuple(p[:-1]) for p in unknown_keys)
        pages = data.get("pages")
        self.page_names = list(pages) if isinstance(pages, dict) else []
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        self.arg_names = set(args)
        # name -> declared default ({default: ...} or the value itself); None: required
        self.arg_defaults = {
            name: spec.get("default") if isinstance(spec, dict) else spec
            for name, spec in args.items()
        }

    def error(self, path: Path, message: str) -> None:
        if tuple(path) not in self._misspelt:
            self.report.error(path, message)

    def warning(self, path: Path, message: str) -> None:
        if tuple(path) not in self._misspelt:
            self.report.warning(path, message)

    def broken(self, path: Path) -> bool:
        """The schema already found a problem at or under ``path``: do not build it. (A mapping
        with a broken part is built part by part: see :meth:`part`.)"""
        n = len(path)
        return any(p[:n] == tuple(path) for p in self.schema_errors)

    def part(self, spec: Mapping[str, Any], key: str, path: Path, default: Any = None) -> Any:
        """``spec[key]`` as the schema accepted it: ``default`` when it is absent or the schema
        found a problem in it (``path`` is the path of ``spec``)."""
        if key not in spec or self.broken(tuple(path) + (key,)):
            return default
        return spec[key]

    # -- checks several sections share ---------------------------------------------------------

    def check_template(
        self, template: str, path: Path, extra: frozenset[str] = frozenset()
    ) -> None:
        try:
            names = templates.placeholders(template)
        except ValueError as exc:
            self.error(path, str(exc))
            return
        for name in names:
            if name not in self.arg_names and name not in extra:
                hint = did_you_mean(name, self.arg_names | extra)
                self.error(path, f"uses {{{name}}}, which is not declared under args{hint}")

    def check_page_ref(self, name: Any, path: Path) -> None:
        if isinstance(name, str) and name not in self.page_names:
            self.error(path, f"no page type named {name!r}{did_you_mean(name, self.page_names)}")

    def duration(self, spec: Mapping[str, Any], key: str, path: Path) -> float | None:
        if key not in spec or self.broken(tuple(path) + (key,)):
            return None
        seconds = parse_duration(spec[key])
        if seconds <= 0:
            self.error(path + (key,), "must be longer than zero")
        return seconds
