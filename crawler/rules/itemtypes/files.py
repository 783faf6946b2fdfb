"""Item-type files (``rules/types/*.yaml``), read with the same file:line:column problems as rules.

The type logic (mapping, cleaning, validation) is :mod:`crawler.rules.itemtypes.model`; this
module only reads the files and places each problem at its position.
"""

from __future__ import annotations

from pathlib import Path

from crawler.rules.files import CompileCache, item_type_files, read_text
from crawler.rules.itemtypes.model import ItemType, ItemTypeError
from crawler.rules.problems import Problem, Reporter, RuleError, split_path
from crawler.rules.yamlpos import YamlError, load_yaml

_cache = CompileCache(size=256)


def load_item_type(path: str | Path) -> ItemType:
    """One item type file; :class:`RuleError` lists its problems."""
    path = Path(path)
    text = read_text(path, "item type")
    try:
        data, positions = load_yaml(text, str(path))
    except YamlError as exc:
        raise RuleError(
            [Problem(str(path), exc.position.line, exc.position.column, "", exc.message)]
        ) from None
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    try:
        item_type = ItemType.from_dict(data)
    except ItemTypeError as exc:
        report = Reporter(str(path), positions)
        for where, message in exc.problems:
            report.error(tuple(split_path(where)), message)
        raise RuleError(report.sorted()) from None
    if item_type.name != path.stem:
        pos = positions.get(("name",))
        raise RuleError(
            [
                Problem(
                    str(path),
                    pos.line if pos else 1,
                    pos.column if pos else 1,
                    "name",
                    f"item type {item_type.name!r} must live in {item_type.name}.yaml",
                )
            ]
        )
    return item_type


def load_item_types(rules_dir: str | Path) -> tuple[dict[str, ItemType], list[Problem]]:
    """Every item type under ``rules_dir/types``, and the problems of the broken ones."""
    types: dict[str, ItemType] = {}
    problems: list[Problem] = []
    for path in item_type_files(rules_dir):
        try:
            item_type = _cache.get(path, "", load_item_type)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        types[item_type.name] = item_type
    return types, problems
