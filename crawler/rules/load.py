"""Load rule files: YAML with positions -> JSON Schema -> typed :class:`Rule` -> platform checks.

Every problem is reported as ``file:line:column: field.path: message`` and all problems of a file
are collected, so a person fixes them in one pass.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import jmespath
import jmespath.exceptions
from jsonschema import Draft202012Validator
from lxml import etree
from parsel.csstranslator import HTMLTranslator

from crawler.rules import templates
from crawler.rules.model import (
    MISSING,
    FieldSpec,
    ItemTarget,
    LinkSpec,
    PageType,
    Pagination,
    RowsSpec,
    Rule,
    Schedule,
    Selector,
    StartSpec,
)
from crawler.rules.schema import SELECTOR_KEYS, rule_schema
from crawler.rules.yamlpos import Path as DataPath
from crawler.rules.yamlpos import Position, YamlError, load_yaml

XPATH_NAMESPACES = {
    "re": "http://exslt.org/regular-expressions",
    "set": "http://exslt.org/sets",
}
RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class RuleError(ValueError):
    """A rule file with problems; ``problems`` lists each one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(path: DataPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reporter:
    """Collects problems for one file, placing each at the closest known position."""

    def __init__(self, filename: str, positions: dict[DataPath, Position]):
        self.filename = filename
        self.positions = positions
        self.problems: list[Problem] = []

    def add(self, path: DataPath, message: str) -> None:
        probe = tuple(path)
        while probe not in self.positions and probe:
            probe = probe[:-1]
        pos = self.positions.get(probe, Position(1, 1))
        self.problems.append(
            Problem(self.filename, pos.line, pos.column, format_path(path), message)
        )


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(rule_schema())


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _python_type(value: Any) -> str:
    for kind, types in (
        ("true or false", bool),
        ("a mapping", dict),
        ("a list", list),
        ("a string", str),
        ("a number", (int, float)),
    ):
        if isinstance(value, types):
            return kind
    return "null" if value is None else type(value).__name__


def _schema_problems(data: Any, report: _Reporter) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path = tuple(error.absolute_path)
        kind = error.validator
        if kind == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    report.add(path + (key,), f"unknown field {key!r}{did_you_mean(key, known)}")
        elif kind == "type":
            expected = error.validator_value
            expected = [expected] if isinstance(expected, str) else expected
            names = " or ".join(_TYPE_NAMES.get(t, t) for t in expected)
            report.add(path, f"expected {names}, got {_python_type(error.instance)}")
        elif kind == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            report.add(path, f"missing required field {missing!r}")
        elif kind == "enum":
            choices = ", ".join(map(str, error.validator_value))
            report.add(path, f"must be one of {choices}; got {error.instance!r}")
        elif kind == "oneOf":
            report.add(path, _one_of_message(error))
        elif kind == "pattern" and path and path[-1] != "name" and isinstance(error.instance, str):
            report.add(
                path,
                f"{error.instance!r} is not a valid name here (pattern {error.validator_value})",
            )
        elif kind == "propertyNames":
            report.add(path, f"invalid name {error.instance!r}: {error.message}")
        elif kind == "minItems" or kind == "minProperties":
            report.add(path, "must not be empty")
        else:
            report.add(path, error.message)


def _one_of_message(error: Any) -> str:
    kinds = []
    for sub in error.validator_value:
        if "type" in sub:
            kinds.append(_TYPE_NAMES.get(sub["type"], sub["type"]))
        elif "$ref" in sub:
            kinds.append("a selector mapping")
    if kinds:
        return f"expected {' or '.join(dict.fromkeys(kinds))}, got {_python_type(error.instance)}"
    return error.message


# --- building the typed rule, with the checks a schema cannot do ----------------------------


class _Builder:
    def __init__(
        self, data: dict, report: _Reporter, cleaner_check, item_types: dict | None = None
    ):
        self.item_types = item_types
        self.data = data
        self.report = report
        self.warnings = _Reporter(report.filename, report.positions)  # reported, never fatal
        self.cleaner_check = cleaner_check
        self.page_names = list(data.get("pages", {}))

    # selectors

    def selector(self, spec: dict, path: DataPath, *, allow_regex_alone: bool = True) -> Selector:
        primary = [k for k in ("xpath", "css", "json") if k in spec]
        if len(primary) > 1:
            self.report.add(path, f"use one of xpath, css or json, not {' and '.join(primary)}")
        if not primary and "regex" not in spec:
            self.report.add(path, "needs a selector: one of xpath, css, json or regex")
        if not primary and "regex" in spec and not allow_regex_alone:
            self.report.add(path, "a regex alone cannot select elements: use xpath or css")
        sel = Selector(**{k: spec[k] for k in SELECTOR_KEYS if k in spec})
        self.check_selector(sel, path)
        return sel

    def check_selector(self, sel: Selector, path: DataPath) -> None:
        for kind, problem in _EXPRESSION_CHECKS.items():
            expression = getattr(sel, kind)
            message = problem(expression) if expression is not None else None
            if message:
                self.report.add(path + (kind,), message)

    # fields

    def fields(self, spec: dict, path: DataPath) -> tuple[FieldSpec, ...]:
        return tuple(self.field(name, fspec, path + (name,)) for name, fspec in spec.items())

    def field(self, name: str, spec: dict, path: DataPath) -> FieldSpec:
        sources = [k for k in ("value", "extractor") if k in spec]
        if any(k in spec for k in SELECTOR_KEYS):
            sources.append("a selector")
        if len(sources) > 1:
            self.report.add(
                path,
                f"a field takes one of a selector, value or extractor, not {' and '.join(sources)}",
            )
        if "args" in spec and "extractor" not in spec:
            self.report.add(path + ("args",), "args are for an extractor")
        selector = Selector()
        if "extractor" in spec:
            from crawler.plugins import check_extractor

            for message in check_extractor(spec["extractor"], spec.get("args")):
                self.report.add(path + ("extractor",), message)
        elif "value" not in spec:
            selector = self.selector(spec, path)
        clean = spec.get("clean")
        if clean is not None:
            for index, message in self.cleaner_check(clean):
                sub = path + ("clean",) + ((index,) if isinstance(clean, list) else ())
                self.report.add(sub, message)
        return FieldSpec(
            name=name,
            selector=selector,
            value=spec.get("value", MISSING),
            extractor=spec.get("extractor"),
            args=MappingProxyType(dict(spec.get("args", {}))),
            all=spec.get("all", False),
            text=spec.get("text", False),
            default=spec.get("default"),
            required=spec.get("required", False),
            clean=clean,
        )

    # links

    def links(self, specs: list, path: DataPath, scope_fields: set[str]) -> tuple[LinkSpec, ...]:
        return tuple(self.link(spec, path + (i,), scope_fields) for i, spec in enumerate(specs))

    def link(self, spec: dict, path: DataPath, scope_fields: set[str]) -> LinkSpec:
        selector = self.selector(spec, path)
        self.check_page_ref(spec.get("to"), path + ("to",))
        allow, deny = _as_tuple(spec.get("allow")), _as_tuple(spec.get("deny"))
        for key, patterns in (("allow", allow), ("deny", deny)):
            for i, pattern in enumerate(patterns):
                msg = regex_problem(pattern)
                if msg:
                    sub = path + (key,) + ((i,) if isinstance(spec.get(key), list) else ())
                    self.report.add(sub, msg)
        carry = spec.get("carry", False)
        if isinstance(carry, list):
            for i, name in enumerate(carry):
                if name not in scope_fields:
                    self.report.add(
                        path + ("carry", i),
                        f"carries {name!r}, which is not a field here{did_you_mean(name, scope_fields)}",
                    )
            carry = tuple(carry)
        return LinkSpec(
            selector=selector,
            to=spec.get("to", ""),
            allow=allow,
            deny=deny,
            max_depth=spec.get("max_depth"),
            priority=spec.get("priority"),
            carry=carry,
        )

    def check_page_ref(self, name: Any, path: DataPath) -> None:
        if isinstance(name, str) and name not in self.page_names:
            self.report.add(
                path, f"no page type named {name!r}{did_you_mean(name, self.page_names)}"
            )

    # pages

    def page(self, name: str, spec: dict, path: DataPath) -> PageType:
        fields = self.fields(spec.get("fields", {}), path + ("fields",))
        page_field_names = {f.name for f in fields}
        rows = None
        if "rows" in spec:
            rspec = spec["rows"]
            rpath = path + ("rows",)
            rsel = self.selector(rspec, rpath, allow_regex_alone=False)
            rfields = self.fields(rspec.get("fields", {}), rpath + ("fields",))
            scope = page_field_names | {f.name for f in rfields}
            rlinks = self.links(rspec.get("links", []), rpath + ("links",), scope)
            rows = RowsSpec(rsel, rfields, rlinks, rspec.get("emit", True))
        links = self.links(spec.get("links", []), path + ("links",), page_field_names)
        pagination = None
        if "pagination" in spec:
            pagination = self.pagination(spec["pagination"], path + ("pagination",), rows)
        item = self.item(spec["item"], path + ("item",)) if "item" in spec else None
        match = spec.get("match")
        if match is not None:
            msg = regex_problem(match)
            if msg:
                self.report.add(path + ("match",), msg)
        page = PageType(
            name=name,
            fields=fields,
            rows=rows,
            links=links,
            pagination=pagination,
            item=item,
            emit=spec.get("emit", True),
            priority=spec.get("priority", 0),
            match=match,
            fetch=spec.get("fetch", "every"),
            refresh_after=self.duration(spec, "refresh_after", path),
        )
        if page.refresh_after is not None and page.fetch != "once":
            self.report.add(
                path + ("refresh_after",),
                "refresh_after applies to pages fetched once: add `fetch: once`",
            )
        return page

    def duration(self, spec: dict, key: str, path: DataPath) -> float | None:
        if key not in spec:
            return None
        seconds = parse_duration(spec[key])
        if seconds <= 0:
            self.report.add(path + (key,), "must be longer than zero")
        return seconds

    def schedule(self, spec: dict, path: DataPath) -> Schedule:
        from croniter import croniter

        cron = spec["cron"]
        if not croniter.is_valid(cron):
            self.report.add(
                path + ("cron",),
                f"invalid cron expression {cron!r}: five fields (minute hour day month weekday) "
                "or @hourly/@daily/@weekly/@monthly",
            )
        timezone = spec.get("timezone", "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            hint = did_you_mean(timezone, available_timezones())
            self.report.add(path + ("timezone",), f"unknown time zone {timezone!r}{hint}")
        args = dict(spec.get("args", {}))
        declared = set(self.data.get("args", {}))
        for name in args:
            if name not in declared:
                self.report.add(
                    path + ("args", name),
                    f"argument {name!r} is not declared under args{did_you_mean(name, declared)}",
                )
        retry_delay = self.duration(spec, "retry_delay", path)
        return Schedule(
            cron=cron,
            timezone=timezone,
            catch_up=spec.get("catch_up", False),
            retries=spec.get("retries", 0),
            retry_delay=60.0 if retry_delay is None else retry_delay,
            timeout=self.duration(spec, "timeout", path),
            args=MappingProxyType(args),
            enabled=spec.get("enabled", True),
        )

    def pagination(self, spec: dict, path: DataPath, rows: RowsSpec | None) -> Pagination:
        styles = [s for s in ("next", "pages", "offset", "cursor") if s in spec]
        if len(styles) != 1:
            found = " and ".join(styles) if styles else "none"
            self.report.add(
                path, f"needs exactly one style of next, pages, offset or cursor (found {found})"
            )
            return Pagination(style="none")
        style = styles[0]
        until_empty = None
        if "until_empty" in spec:
            until_empty = self.selector(spec["until_empty"], path + ("until_empty",))
        common = {"max_pages": spec.get("max_pages"), "until_empty": until_empty}
        if style == "next":
            return Pagination("next", next=self.selector(spec["next"], path + ("next",)), **common)
        if style == "pages":
            p = spec["pages"]
            count = p.get("count")
            if isinstance(count, dict):
                count = self.selector(count, path + ("pages", "count"))
            template = p.get("template", "")
            self.check_template(template, path + ("pages", "template"), extra={"page", "url"})
            return Pagination(
                "pages", template=template, count=count, start=p.get("start", 2), **common
            )
        if style == "offset":
            p = spec["offset"]
            if until_empty is None and rows is None:
                self.report.add(
                    path + ("offset",),
                    "offset paging stops on an empty page: give until_empty, or rows on this page type",
                )
            return Pagination(
                "offset",
                param=p.get("param"),
                step=p.get("step", 1),
                start=p.get("start", 0),
                **common,
            )
        p = spec["cursor"]
        cursor = self.selector(p.get("value", {}), path + ("cursor", "value"))
        return Pagination("cursor", param=p.get("param"), cursor=cursor, **common)

    def item(self, spec: dict, path: DataPath) -> ItemTarget:
        key = spec.get("key")
        type_name = spec.get("type")
        if type_name is not None and self.item_types is not None:
            item_type = self.item_types.get(type_name)
            if item_type is None:
                hint = did_you_mean(type_name, self.item_types)
                self.report.add(
                    path + ("type",), f"no item type named {type_name!r} in rules/types/{hint}"
                )
            else:
                for message in item_type.check_mapping(spec.get("map")):
                    self.report.add(path + ("map",), message)
        return ItemTarget(
            collection=spec.get("collection"),
            key=(key,) if isinstance(key, str) else tuple(key) if key else None,
            type=spec.get("type"),
            map=MappingProxyType(dict(spec.get("map", {}))),
        )

    # start

    def start(self, spec: dict, path: DataPath) -> StartSpec:
        if ("url" in spec) == ("urls" in spec):
            self.report.add(path, "needs exactly one of url or urls")
        urls = [spec["url"]] if "url" in spec else list(spec.get("urls", []))
        for i, url in enumerate(urls):
            sub = path + (("url",) if "url" in spec else ("urls", i))
            self.check_template(url, sub)
        bodies = [k for k in ("form", "json", "body") if k in spec]
        if len(bodies) > 1:
            self.report.add(
                path, f"give one body: form, json or body (found {' and '.join(bodies)})"
            )
        self.check_page_ref(spec.get("page"), path + ("page",))
        return StartSpec(
            urls=tuple(urls),
            page=spec.get("page", ""),
            method=spec.get("method", "POST" if bodies else "GET"),
            headers=MappingProxyType(dict(spec.get("headers", {}))),
            form=MappingProxyType(dict(spec["form"])) if "form" in spec else None,
            json=spec.get("json", MISSING),
            body=spec.get("body"),
            carry=MappingProxyType(dict(spec.get("carry", {}))),
            priority=spec.get("priority"),
        )

    def check_template(self, template: str, path: DataPath, extra: set[str] = frozenset()) -> None:
        args = set(self.data.get("args", {}))
        try:
            names = templates.placeholders(template)
        except ValueError as exc:
            self.report.add(path, str(exc))
            return
        for name in names:
            if name not in args and name not in extra:
                hint = did_you_mean(name, args | extra)
                self.report.add(path, f"uses {{{name}}}, which is not declared under args{hint}")

    # the rule

    def rule(self, name: str, file: Path | None) -> Rule:
        d = self.data
        pages = {n: self.page(n, spec, ("pages", n)) for n, spec in d.get("pages", {}).items()}
        start = tuple(self.start(spec, ("start", i)) for i, spec in enumerate(d.get("start", [])))
        item = self.item(d["item"], ("item",)) if "item" in d else ItemTarget()
        for pname, page in pages.items():
            target = item.merged(page.item)
            if page.rows is not None and page.emits_items and not target.key:
                names = {f.name for f in page.rows.fields} | {f.name for f in page.fields}
                if "url" not in names:
                    self.report.add(
                        ("pages", pname, "rows"),
                        "rows make several items per page, so they need a key: set item.key, "
                        "or extract a 'url' field",
                    )
        encoding = d.get("encoding")
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                self.report.add(("encoding",), f"unknown encoding {encoding!r}")
        self.check_settings(d.get("settings", {}))
        antiban = d.get("antiban", {})
        for sub, message in _antiban_checks(antiban):
            path = ("antiban",) + tuple(_split_path(sub))
            if message.startswith("warning:"):
                self.warnings.add(path, message)
            else:
                self.report.add(path, message)
        schedule = self.schedule(d["schedule"], ("schedule",)) if "schedule" in d else None
        return Rule(
            name=name,
            path=file,
            start=start,
            pages=MappingProxyType(pages),
            description=d.get("description", ""),
            needs_internet=d.get("needs_internet", False),
            args=MappingProxyType(dict(d.get("args", {}))),
            allowed_domains=tuple(d.get("allowed_domains", ())),
            encoding=encoding,
            item=item,
            settings=MappingProxyType(dict(d.get("settings", {}))),
            antiban=MappingProxyType(dict(antiban)),
            schedule=schedule,
        )

    def check_settings(self, settings: dict) -> None:
        known = _known_settings()
        for key in settings:
            if key not in known:
                hint = did_you_mean(key, known)
                if (
                    hint
                ):  # an unknown name may belong to a third-party extension; a near miss is a typo
                    self.report.add(("settings", key), f"unknown setting {key!r}{hint}")


def _split_path(text: str) -> Iterator[str | int]:
    for part in re.split(r"\.|\[|\]", text):
        if part:
            yield int(part) if part.isdigit() else part


def _antiban_checks(section: dict) -> list[tuple[str, str]]:
    """The anti-ban section's own checks (messages starting ``warning:`` do not fail a rule)."""
    if not section:
        return []
    from crawler.antiban.rule import check_antiban

    return check_antiban(section)


@lru_cache(maxsize=1)
def _known_settings() -> frozenset[str]:
    from scrapy.settings import default_settings

    from crawler import settings as project_settings

    names = {n for n in dir(default_settings) if n.isupper()}
    names |= {n for n in dir(project_settings) if n.isupper()}
    return frozenset(names)


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


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


# --- expression checks -----------------------------------------------------------------------


def xpath_problem(query: str) -> str | None:
    try:
        etree.XPath(query, namespaces=XPATH_NAMESPACES)
    except etree.XPathSyntaxError as exc:
        return f"invalid XPath {query!r}: {exc}"
    return None


_css_translator = HTMLTranslator()


def css_problem(query: str) -> str | None:
    try:
        _css_translator.css_to_xpath(query)
    except Exception as exc:  # cssselect raises SelectorSyntaxError or ExpressionError
        return f"invalid CSS selector {query!r}: {exc}"
    return None


def regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None


def jmespath_problem(expression: str) -> str | None:
    try:
        jmespath.compile(expression)
    except jmespath.exceptions.IncompleteExpressionError:
        return f"invalid JMESPath {expression!r}: the expression ends too early"
    except jmespath.exceptions.ParseError as exc:
        return f"invalid JMESPath {expression!r}: {exc.msg} at column {exc.lex_position + 1}"
    except jmespath.exceptions.JMESPathError as exc:
        return f"invalid JMESPath {expression!r}: {str(exc).splitlines()[0]}"
    return None


_EXPRESSION_CHECKS = {
    "xpath": xpath_problem,
    "css": css_problem,
    "json": jmespath_problem,
    "regex": regex_problem,
}


# --- entry points ----------------------------------------------------------------------------


def load_project_modules(settings: Any) -> None:
    """Import the project's plugin modules (setting ``PLUGIN_MODULES``) so rules can name their
    cleaners and extractors exactly like the built-in ones. A module that fails is a usage error."""
    from scrapy.exceptions import UsageError

    from cleaners.registry import load_modules

    try:
        load_modules(settings.getlist("PLUGIN_MODULES"))
    except ImportError as exc:
        raise UsageError(str(exc), print_help=False) from None


def default_cleaner_check(spec: Any) -> list[tuple[int, str]]:
    from cleaners.registry import REGISTRY

    return REGISTRY.check(spec)


def load_rule(path: str | Path, *, cleaner_check=None, item_types: dict | None = None) -> Rule:
    """Load and check one rule file; raise :class:`RuleError` listing every problem.

    ``item_types`` (name -> ItemType) defaults to the types in ``rules/types/`` beside the file.
    """
    path = Path(path)
    if item_types is None:
        from .itemtypes import load_item_types

        item_types = load_item_types(path.parent)[0]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError([Problem(str(path), 1, 1, "", f"cannot read rule file: {exc}")]) from None
    return parse_rule(
        text, filename=str(path), file=path, cleaner_check=cleaner_check, item_types=item_types
    )


def parse_rule(
    text: str,
    *,
    filename: str = "<rule>",
    file: Path | None = None,
    cleaner_check=None,
    item_types: dict | None = None,
) -> Rule:
    try:
        data, positions = load_yaml(text, filename)
    except YamlError as exc:
        pos = exc.position
        raise RuleError(
            [Problem(filename, pos.line, pos.column, format_path(exc.path), exc.message)]
        ) from None
    report = _Reporter(filename, positions)
    if not isinstance(data, dict):
        report.add((), f"a rule file must be a mapping, got {_python_type(data)}")
        raise RuleError(report.problems)
    _schema_problems(data, report)
    if report.problems:  # the builder relies on the shapes the schema guarantees
        raise RuleError(sorted(report.problems, key=lambda p: (p.line, p.column)))
    stem = file.stem if file else "rule"
    name = data.get("name", stem)
    builder = _Builder(data, report, cleaner_check or default_cleaner_check, item_types)
    rule = builder.rule(name, file)
    if report.problems:
        raise RuleError(sorted(report.problems, key=lambda p: (p.line, p.column)))
    if builder.warnings.problems:
        rule = dataclasses.replace(rule, warnings=tuple(str(w) for w in builder.warnings.problems))
    return rule


def rule_files(rules_dir: str | Path) -> list[Path]:
    base = Path(rules_dir)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def load_rules(rules_dir: str | Path) -> tuple[dict[str, Rule], list[Problem]]:
    """Every rule (and item type) under ``rules_dir``; broken files are reported, not raised, so
    one bad rule does not hide the others."""
    from .itemtypes import load_item_types

    rules: dict[str, Rule] = {}
    item_types, problems = load_item_types(rules_dir)
    types_stamp = tuple(sorted((name, id(t)) for name, t in item_types.items()))
    for path in rule_files(rules_dir):
        try:
            rule = _load_cached(path, path.stat().st_mtime_ns, types_stamp)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        if rule.name in rules:
            other = rules[rule.name].path
            problems.append(
                Problem(str(path), 1, 1, "name", f"rule name {rule.name!r} is also used by {other}")
            )
            continue
        rules[rule.name] = rule
    return rules, problems


@lru_cache(maxsize=512)
def _load_cached(path: Path, mtime_ns: int, types_stamp: tuple) -> Rule:
    return load_rule(path)
