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
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from crawler.rules.chains import chain_problems
from crawler.rules.compile_context import BuildContext, CompileContext
from crawler.rules.files import (
    CompileCache,
    fingerprint,
    item_type_files,
    read_text,
    rule_files,
    stamp,
)
from crawler.rules.inherit import extend
from crawler.rules.itemtypes import ItemType, load_item_types
from crawler.rules.model import Rule
from crawler.rules.problems import Problem, Reporter, RuleError, load_yaml_or_refuse
from crawler.rules.schema import python_type, schema_problems
from crawler.rules.sections import sections
from crawler.rules.tables import read_table, start_filler, table_files
from crawler.rules.yamlpos import load_yaml

DEFAULT_CONTEXT = CompileContext()


def compile_rule(
    text: str,
    *,
    filename: str = "<rule>",
    file: Path | None = None,
    context: CompileContext | None = None,
) -> Rule:
    """Compile one rule's text; raise :class:`RuleError` listing every problem of the file."""
    data, positions = load_yaml_or_refuse(text, filename)
    if not isinstance(data, dict):
        report = Reporter(filename, positions)
        report.error((), f"a rule file must be a mapping, got {python_type(data)}")
        raise RuleError(report.problems)
    return compile_document(data, positions, filename=filename, file=file, context=context)


def compile_document(
    data: dict[str, Any],
    positions: Mapping[tuple, Any],
    *,
    filename: str,
    file: Path | None = None,
    context: CompileContext | None = None,
    rules_dir: Path | None = None,
    row: int = 0,
    after_merge: Any = None,
) -> Rule:
    """Compile one rule's parsed mapping (a rule file's, or a site-table row's: ``row`` is its
    line, ``after_merge`` fills in what the row gives once its template is merged)."""
    context = context or DEFAULT_CONTEXT
    if rules_dir is None:
        rules_dir = file.parent if file is not None else context.rules_dir
    merged = extend(data, dict(positions), filename, rules_dir)
    if after_merge is not None:
        after_merge(merged)
    data = merged.data
    report = Reporter(filename, merged.positions, merged.via)
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
        inherits=merged.files,
        row=row,
        version=rule_version(merged.data),
    )
    if not report.has_errors:  # whole-rule checks assume each section built cleanly
        for section in sections():
            section.finish(rule, ctx)
    if report.has_errors:
        raise RuleError(report.sorted(), merged.files)
    warnings = tuple(p for p in report.sorted() if not p.is_error)
    if warnings:
        rule = dataclasses.replace(rule, warnings=warnings)
    return rule


def rule_version(data: Mapping[str, Any]) -> str:
    """The version of a rule: a digest of what it says once its templates are merged (not of
    its comments or layout), so a template's change is a new version of every rule using it.
    Every item records the version that produced it (``_rule_version``); the rule history
    (crawler/rules/history.py) names its versions with it."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_rule(path: str | Path, context: CompileContext | None = None) -> Rule:
    """Read and compile one rule file; item types default to those beside it (``types/``)."""
    path = Path(path)
    return compile_rule(read_text(path), filename=str(path), file=path, context=context)


_cache = CompileCache()


@dataclass(frozen=True)
class Ruleset:
    """A rules directory compiled: its rules by name, the item types they were compiled against,
    and the problems of the broken files (item types first, then rules, then table rows);
    ``broken``: each broken table row's name -> its problems."""

    rules: Mapping[str, Rule]
    item_types: Mapping[str, ItemType]
    problems: tuple[Problem, ...] = ()
    broken: Mapping[str, tuple[Problem, ...]] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    broken_tags: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )  # the tags a broken row gives (`scrapy crawl --tag` reports it with the others)
    chains: tuple[Problem, ...] = ()  # problems of ``after:`` (in ``problems`` too)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


@dataclass(frozen=True)
class CompiledTable:
    """A site table compiled: its rules, each broken row's problems by name, the table's own
    problems (and those of rows without a name), and the templates its rows read."""

    rules: tuple[Rule, ...]
    broken: Mapping[str, tuple[Problem, ...]]
    broken_tags: Mapping[str, tuple[str, ...]]
    problems: tuple[Problem, ...]
    inherits: tuple[Path, ...]


def load_table(path: Path, context: CompileContext | None = None) -> CompiledTable:
    """Every row of a site table (crawler/rules/tables.py) compiled on its own."""
    table = read_table(path)
    rules: list[Rule] = []
    broken: dict[str, tuple[Problem, ...]] = {}
    broken_tags: dict[str, tuple[str, ...]] = {}
    problems = list(table.problems)
    inherits: dict[Path, None] = {}
    shared: dict[tuple[str, str], Any] = {}
    for row in table.rows:
        if row.name is None:
            message = "a site needs a name (the spider's name: letters, digits, _ and -)"
            problems.append(Problem(str(path), row.line, 1, "name", message))
            continue
        try:
            rule = compile_document(
                row.data,
                row.positions,
                filename=str(path),
                file=path,
                context=context,
                rules_dir=path.parent.parent,
                row=row.line,
                after_merge=start_filler(row),
            )
        except RuleError as exc:
            inherits.update(dict.fromkeys(exc.inherits))
            broken[row.name] = tuple(exc.problems)
            tags = row.data.get("tags")
            broken_tags[row.name] = (
                tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
            )
            problems.extend(exc.problems)
            continue
        inherits.update(dict.fromkeys(rule.inherits))
        rules.append(share_sections(rule, shared))
    return CompiledTable(
        tuple(rules),
        MappingProxyType(broken),
        MappingProxyType(broken_tags),
        tuple(problems),
        tuple(inherits),
    )


def share_sections(rule: Rule, shared: dict[tuple[str, str], Any]) -> Rule:
    """``rule`` holding, for each section equal to one an earlier row built (the same
    template's pages, start, item...), that earlier value: a thousand rows of one template keep
    one copy of what they share (sections are immutable values, equal when their reprs are)."""
    values = {name: shared.setdefault((name, repr(v)), v) for name, v in rule.sections.items()}
    return dataclasses.replace(rule, sections=MappingProxyType(values))


def load_rules(rules_dir: str | Path, context: CompileContext | None = None) -> Ruleset:
    """Every rule under ``rules_dir`` (rule files, then the rows of its site tables), its item
    types, and the problems of the broken ones: one bad file or row is reported, never raised,
    so it cannot hide the others. Compiled files are cached until they, a template they extend,
    an item type, the environment or the context change."""
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
    broken: dict[str, tuple[Problem, ...]] = {}
    broken_tags: dict[str, tuple[str, ...]] = {}

    def add(rule: Rule) -> None:
        if rule.name in rules:
            other = rules[rule.name]
            where = f"{other.path}:{other.row}" if other.row else str(other.path)
            message = f"rule name {rule.name!r} is also used by {where}"
            problems.append(Problem(str(rule.path), rule.row or 1, 1, "name", message))
            return
        rules[rule.name] = rule

    for path in rule_files(rules_dir):
        try:
            add(_cache.get(path, depends_on, lambda p: load_rule(p, context)))
        except RuleError as exc:
            problems.extend(exc.problems)
    tables = table_files(rules_dir)
    for path in tables:
        try:
            table = _cache.get(path, depends_on, lambda p: load_table(p, context))
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(table.problems)
        broken.update(table.broken)
        broken_tags.update(table.broken_tags)
        for rule in table.rules:
            add(rule)
    chained = check_chains(rules, problems, broken, broken_tags, tables)
    return Ruleset(
        MappingProxyType(rules),
        context.item_types or {},
        tuple(problems),
        MappingProxyType(broken),
        MappingProxyType(broken_tags),
        tuple(chained),
    )


def check_chains(
    rules: dict[str, Rule],
    problems: list[Problem],
    broken: dict[str, tuple[Problem, ...]],
    broken_tags: dict[str, tuple[str, ...]],
    tables: list[Path],
) -> list[Problem]:
    """The chain problems of the rules (crawler/rules/chains.py): each rule that has some is
    broken (moved out of ``rules``, its problems added); the problems found."""
    broken_files = {Path(p.file).stem for p in problems if Path(p.file).parent.name != "tables"}
    found = chain_problems(
        rules,
        other_rules=set(broken) | broken_files,
        other_tags={t for tags in broken_tags.values() for t in tags},
        tables=[path.stem for path in tables],
    )
    out: list[Problem] = []
    for name, chain in found.items():
        rules.pop(name, None)
        broken[name] = tuple(chain)
        out.extend(chain)
    problems.extend(out)
    return out


def effective_data(rule: Rule) -> dict[str, Any]:
    """The mapping ``rule`` was compiled from once its templates are merged (and, for a table
    row, its start URLs filled in): what ``scrapy rules show`` prints."""
    if rule.path is None:
        raise ValueError(f"rule {rule.name!r} has no file")
    if rule.row:
        for row in read_table(rule.path).rows:
            if row.line == rule.row:
                merged = extend(row.data, row.positions, str(rule.path), rule.path.parent.parent)
                fill = start_filler(row)
                if fill is not None:
                    fill(merged)
                return merged.data
        raise ValueError(f"{rule.path} has no row at line {rule.row} any more")
    data, positions = load_yaml(read_text(rule.path), str(rule.path))
    return extend(data, positions, str(rule.path), rule.path.parent).data
