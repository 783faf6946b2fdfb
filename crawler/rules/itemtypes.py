"""Load item types (``rules/types/*.yaml``) with the same file:line:column errors as rules.

The type logic (mapping, cleaning, validation) is :mod:`cleaners.itemtypes`; this module only
reads the files and places each problem at its position.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cleaners.itemtypes import ItemType, ItemTypeError

from .load import RULE_SUFFIXES, Problem, RuleError, _Reporter, _split_path
from .yamlpos import YamlError, load_yaml

TYPES_DIR = "types"


def types_dir(rules_dir: str | Path) -> Path:
    return Path(rules_dir) / TYPES_DIR


def load_item_type(path: str | Path) -> ItemType:
    """One item type file; :class:`RuleError` lists its problems."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data, positions = load_yaml(text, str(path))
    except OSError as exc:
        raise RuleError([Problem(str(path), 1, 1, "", f"cannot read item type: {exc}")]) from None
    except YamlError as exc:
        raise RuleError(
            [Problem(str(path), exc.position.line, exc.position.column, "", exc.message)]
        ) from None
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    try:
        item_type = ItemType.from_dict(data)
    except ItemTypeError as exc:
        report = _Reporter(str(path), positions)
        for where, message in exc.problems:
            report.add(tuple(_split_path(where)), message)
        raise RuleError(sorted(report.problems, key=lambda p: (p.line, p.column))) from None
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


def item_type_files(rules_dir: str | Path) -> list[Path]:
    base = types_dir(rules_dir)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def load_item_types(rules_dir: str | Path) -> tuple[dict[str, ItemType], list[Problem]]:
    types: dict[str, ItemType] = {}
    problems: list[Problem] = []
    for path in item_type_files(rules_dir):
        try:
            item_type = _cached(path, path.stat().st_mtime_ns)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        types[item_type.name] = item_type
    return types, problems


@lru_cache(maxsize=256)
def _cached(path: Path, mtime_ns: int) -> ItemType:
    return load_item_type(path)
