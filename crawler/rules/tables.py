"""Site tables: one template applied to a table of sites, every row a rule of its own.

A table is a file under ``rules/tables/``, YAML or CSV. In YAML::

    template: trs_notice           # rules/templates/trs_notice.yaml (a row may name another)
    tags: [gov]                    # added to every row's own tags
    sites:
      - name: gov_beijing          # the spider's name: scrapy crawl gov_beijing
        args: {site: https://www.beijing.gov.cn}
        tags: [beijing]
      - name: gov_shanghai
        start: https://www.shanghai.gov.cn/notices/   # start URLs: a URL or a list of them
        schedule: {cron: "0 6 * * *"}
        pages: {list: {rows: {css: "ul.news li"}}}   # any part of the rule, merged as extends: does

In CSV, the first line names the columns: ``name``, ``template``, ``start`` (URLs separated by
spaces), ``tags`` (separated by spaces or commas), and any dotted path into the rule
(``args.site``, ``schedule.cron``, ``pages.list.rows.css``); an empty cell gives nothing.

A row is a rule mapping that ``extends:`` the template. Its ``start`` URLs take the template's
first start entry as their pattern (its page type, method, headers), so a row names only where
to begin. Each row is compiled on its own: a bad row is a problem of that row (reported at its
line, with the template chain for what the template gave), and the other rows still run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from crawler.rules.files import read_text
from crawler.rules.inherit import NAME, Merged
from crawler.rules.problems import (
    Problem,
    Reporter,
    RuleError,
    format_path,
    load_yaml_or_refuse,
    split_path,
)
from crawler.rules.yamlpos import Path, Position

TABLES_DIR = "tables"
TABLE_SUFFIXES = (".yaml", ".yml", ".csv")
MAX_ROWS = 10_000
TABLE_KEYS = ("template", "tags", "sites")
SPLIT = re.compile(r"[\s,]+")


@dataclass
class Row:
    """One site of a table: the rule mapping it stands for, where each part of it was written,
    and the start URLs it gives (applied after the template is merged)."""

    line: int
    name: str | None
    data: dict[str, Any]
    positions: dict[Path, Position]
    start: list[str] | None = None
    start_at: Position | None = None


@dataclass
class Table:
    path: FilePath
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # of the table itself, or of a row


def table_files(rules_dir: str | FilePath) -> list[FilePath]:
    base = FilePath(rules_dir) / TABLES_DIR
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.suffix in TABLE_SUFFIXES and p.is_file())


def read_table(path: FilePath) -> Table:
    """The rows of a table file; raises :class:`RuleError` for a file that is not a table."""
    text = read_text(path, "site table")
    if path.suffix == ".csv":
        return _csv_table(path, text)
    return _yaml_table(path, text)


def _yaml_table(path: FilePath, text: str) -> Table:
    filename = str(path)
    data, positions = load_yaml_or_refuse(text, filename)
    report = Reporter(filename, positions)
    if not isinstance(data, dict) or not isinstance(data.get("sites"), list):
        report.error((), "a site table is a mapping with a list of sites: (and a template:)")
        raise RuleError(report.problems)
    for key in data:
        if key not in TABLE_KEYS:
            report.error((key,), f"unknown table key {key!r}: a table has {', '.join(TABLE_KEYS)}")
    template, tags = data.get("template"), data.get("tags") or []
    if template is not None and not (isinstance(template, str) and NAME.match(template)):
        report.error(("template",), f"template: names a template, got {template!r}")
    if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        report.error(("tags",), "tags: is a list of words")
        tags = []
    if len(data["sites"]) > MAX_ROWS:
        report.error(("sites",), f"more than {MAX_ROWS:,} sites in one table: split it")
    table = Table(path, problems=report.problems)
    if report.has_errors:
        return table
    by_row: dict[int, dict[Path, Position]] = {}
    for p, pos in positions.items():
        if len(p) > 2 and p[0] == "sites" and isinstance(p[1], int):
            by_row.setdefault(p[1], {})[p[2:]] = pos
    for index, site in enumerate(data["sites"]):
        where = ("sites", index)
        at = positions.get(where, Position(1, 1))
        if not isinstance(site, dict):
            table.problems.append(
                Problem(filename, at.line, at.column, format_path(where), "a site is a mapping")
            )
            continue
        own = by_row.get(index, {})
        table.rows.append(_row(at, site, own, template, tags, at))
    return table


def _csv_table(path: FilePath, text: str) -> Table:
    filename = str(path)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise RuleError(
            [Problem(filename, 1, 1, "", f"not a CSV table: {exc or 'empty'}")]
        ) from None
    header = [h.strip() for h in header]
    problems: list[Problem] = []
    if "name" not in header:
        problems.append(Problem(filename, 1, 1, "", "a CSV site table needs a name column"))
    for i, column in enumerate(header):
        parts = list(split_path(column))
        if (
            not column
            or any(isinstance(p, int) for p in parts)
            or column.count(".") + 1 != len(parts)
        ):
            problems.append(Problem(filename, 1, i + 1, "", f"column {column!r} is not a path"))
    if problems:
        raise RuleError(problems)
    table = Table(path)
    rows = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            rows += 1
            if rows > MAX_ROWS:
                table.problems.append(
                    Problem(filename, line, 1, "", f"more than {MAX_ROWS:,} sites: split the table")
                )
                break
            if len(cells) > len(header):
                message = f"{len(cells)} cells for {len(header)} columns"
                table.problems.append(Problem(filename, line, 1, "", message))
                continue
            site: dict[str, Any] = {}
            own: dict[Path, Position] = {}
            column = 1
            for key, cell in zip(header, cells, strict=False):
                value = cell.strip()
                if value:
                    parts = tuple(split_path(key))
                    _put(site, parts, _cell(parts, value))
                    for depth in range(1, len(parts) + 1):
                        own.setdefault(parts[:depth], Position(line, column))
                column += len(cell) + 1
            at = Position(line, 1)
            table.rows.append(_row(at, site, own, None, [], at))
    except csv.Error as exc:
        table.problems.append(Problem(filename, reader.line_num, 1, "", f"invalid CSV: {exc}"))
    return table


def _put(data: dict[str, Any], parts: tuple, value: Any) -> None:
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _cell(parts: tuple, value: str) -> Any:
    """A CSV cell: URLs and tags are lists, ``args`` stay text (as ``-a`` gives them), other
    cells are read as JSON scalars would be (``5``, ``2.5``, ``true``), else text."""
    if parts[0] in ("start", "tags"):
        return SPLIT.split(value.strip())
    if parts[0] == "args":
        return value
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d{1,15}", value):
        return int(value)
    if re.fullmatch(r"-?\d{1,15}\.\d{1,15}", value):
        return float(value)
    return value


def _row(
    at: Position,
    site: dict[str, Any],
    own: dict[Path, Position],
    template: str | None,
    table_tags: list[str],
    where: Position,
) -> Row:
    data = {k: v for k, v in site.items() if k not in ("template", "start")}
    positions = {p: pos for p, pos in own.items() if p[:1] not in (("template",), ("start",))}
    positions[()] = at
    extends = site.get("template", template)
    if extends is not None:
        data["extends"] = extends
        positions[("extends",)] = own.get(("template",), where)
    tags = site.get("tags")
    if table_tags:  # the table's tags, then the row's own
        own_tags = tags if isinstance(tags, list) else []
        data["tags"] = list(dict.fromkeys([*table_tags, *own_tags]))
        positions.setdefault(("tags",), where)
    start = site.get("start")
    start_at = own.get(("start",))
    if isinstance(start, str):
        start = [start]
    if isinstance(start, list) and start and all(isinstance(u, str) for u in start):
        urls: list[str] | None = start
    else:
        urls = None
        if start is not None:  # start entries written out in full replace the template's
            data["start"] = start
            positions.update({p: pos for p, pos in own.items() if p[:1] == ("start",)})
    name = site.get("name") if isinstance(site.get("name"), str) else None
    return Row(at.line, name, data, positions, urls, start_at)


def start_filler(row: Row) -> Callable[[Merged], None] | None:
    """After the template is merged: the row's start URLs, each on the template's first start
    entry (its page type and the rest), placed at the row's ``start`` cell."""
    if row.start is None:
        return None

    def fill(merged: Merged) -> None:
        entries = merged.data.get("start")
        pattern = entries[0] if isinstance(entries, list) and entries else {}
        pattern = pattern if isinstance(pattern, dict) else {}
        merged.data["start"] = [{**pattern, "url": url} for url in row.start or ()]
        at = row.start_at or Position(row.line, 1)
        for path in [p for p in merged.positions if p[:1] == ("start",)]:
            del merged.positions[path]
            merged.via.pop(path, None)
        merged.positions[("start",)] = at
        for i in range(len(merged.data["start"])):
            merged.positions[("start", i)] = at

    return fill
