"""The rule compiler: a rule file in, a typed :class:`Rule` (or every problem at once) out.

    text --(bounded YAML with positions)--> data --(JSON Schema)--> sections build --> Rule

Every section builds whatever the schema did not already find broken, so one pass reports the
problems of the whole file: a misspelt key is reported and dropped (its mapping is built without
it), and a mapping with a broken part is built part by part (:meth:`BuildContext.part`).
Nothing here imports Scrapy: what a rule may name (cleaners, extractors, item types, settings)
comes in through a :class:`CompileContext`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from crawler.rules.compile_context import BuildContext, CompileContext
from crawler.rules.files import (
    CompileCache,
    fingerprint,
    item_type_files,
    read_text,
    rule_files,
    stamp,
)
from crawler.rules.itemtypes import ItemType, load_item_types
from crawler.rules.model import Rule
from crawler.rules.problems import Problem, Reporter, RuleError, format_path
from crawler.rules.schema import python_type, schema_problems
from crawler.rules.sections import sections
from crawler.rules.yamlpos import YamlError, load_yaml

DEFAULT_CONTEXT = CompileContext()


def compile_rule(
    text: str,
    *,
    filename: str = "<rule>",
    file: Path | None = None,
    context: CompileContext | None = None,
) -> Rule:
    """Compile one rule's text; raise :class:`RuleError` listing every problem of the file."""
    context = context or DEFAULT_CONTEXT
    try:
        data, positions = load_yaml(text, filename)
    except YamlError as exc:
        pos = exc.position
        raise RuleError(
            [Problem(filename, pos.line, pos.column, format_path(exc.path), exc.message)]
        ) from None
    report = Reporter(filename, positions)
    if not isinstance(data, dict):
        report.error((), f"a rule file must be a mapping, got {python_type(data)}")
        raise RuleError(report.problems)
    found = schema_problems(data, report)
    item_types = context.item_types
    if item_types is None:
        item_types = load_item_types(file.parent)[0] if file is not None else {}
    accepted = found.accepted  # without the misspelt keys: reported, the rest is built
    ctx = BuildContext(accepted, report, context, item_types, found.broken, found.unknown)
    values: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for section in sections():
        try:
            values[section.name] = value = section.build(ctx)
            settings.update(section.settings(value))
        except Exception as exc:  # a checker's own failure is this file's problem, loudly
            report.error((section.name,), f"cannot check this section: {type(exc).__name__}: {exc}")
            values[section.name] = None
    name = accepted.get("name") if isinstance(accepted.get("name"), str) else None
    rule = Rule(
        name=name or (file.stem if file is not None else "rule"),
        path=file,
        sections=MappingProxyType(values),
        crawl_settings=MappingProxyType(settings),
    )
    if not report.has_errors:  # whole-rule checks assume each section built cleanly
        for section in sections():
            section.finish(rule, ctx)
    if report.has_errors:
        raise RuleError(report.sorted())
    warnings = tuple(p for p in report.sorted() if not p.is_error)
    if warnings:
        rule = Rule(rule.name, rule.path, rule.sections, rule.crawl_settings, warnings)
    return rule


def load_rule(path: str | Path, context: CompileContext | None = None) -> Rule:
    """Read and compile one rule file; item types default to those beside it (``types/``)."""
    path = Path(path)
    return compile_rule(read_text(path), filename=str(path), file=path, context=context)


_cache = CompileCache()


@dataclass(frozen=True)
class Ruleset:
    """A rules directory compiled: its rules by name, the item types they were compiled against,
    and the problems of the broken files (item types first, then rules)."""

    rules: Mapping[str, Rule]
    item_types: Mapping[str, ItemType]
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def load_rules(rules_dir: str | Path, context: CompileContext | None = None) -> Ruleset:
    """Every rule under ``rules_dir``, its item types, and the problems of the broken ones: one
    bad file is reported, never raised, so it cannot hide the others. Compiled files are cached
    until they, an item type, the environment or the context change."""
    context = context or DEFAULT_CONTEXT
    problems: list[Problem] = []
    if context.item_types is None:
        item_types, problems = load_item_types(rules_dir)
        context = dataclasses.replace(context, item_types=item_types)
    depends_on = fingerprint(
        [stamp(p) for p in item_type_files(rules_dir)],
        sorted(context.environ.items()),
        context.fingerprint,
    )
    rules: dict[str, Rule] = {}
    for path in rule_files(rules_dir):
        try:
            rule = _cache.get(path, depends_on, lambda p: load_rule(p, context))
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        if rule.name in rules:
            other = rules[rule.name].path
            message = f"rule name {rule.name!r} is also used by {other}"
            problems.append(Problem(str(path), 1, 1, "name", message))
            continue
        rules[rule.name] = rule
    return Ruleset(MappingProxyType(rules), context.item_types or {}, tuple(problems))
