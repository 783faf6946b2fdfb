"""Templates: a rule that ``extends:`` another file and overrides parts of it.

    extends: trs_notice        # rules/templates/trs_notice.yaml, else the rule rules/trs_notice.yaml
    args: {site: https://www.example.gov.cn}
    pages: {list: {fields: {title: {css: "h1.title::text"}}}}

The merge, applied from the farthest template to the rule: mappings merge key by key, all the way
down; any other value (a list, a string, a number) replaces the template's; ``null`` removes the
key. ``name`` is never inherited (each rule has its own: its ``name:`` or its file name), and a
template may itself extend another (up to :data:`MAX_CHAIN` files; a loop is an error).
Templates declare their parameters as ``args:`` with their defaults (``null``: each rule must give
one), the arguments rules already have, so a rule or a site-table row fills them in with ``args:``.

Every value of the merged rule remembers where it was written: a problem in a value that came
from a template is reported at the rule's ``extends:`` line, followed by the chain that led to it
(``site.yaml:4:1 ← rules/templates/trs_notice.yaml:22:7: pages.list...``). A template is named,
never a path: only files inside the rules directory can be extended.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from crawler.rules.files import RULE_SUFFIXES, read_text, stamp
from crawler.rules.problems import Problem, RuleError, did_you_mean
from crawler.rules.yamlpos import Path, Position, YamlError, load_yaml

TEMPLATES_DIR = "templates"
MAX_CHAIN = 8  # files in one chain of extends:
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
NOT_INHERITED = ("name", "extends")


@dataclass
class Merged:
    """A rule's data after its templates: positions of its own values, and for inherited ones
    the rule's ``extends:`` position plus the chain (``via``) that leads to where they were
    written; ``files``: the templates read (a change to any of them recompiles the rule)."""

    data: dict[str, Any]
    positions: dict[Path, Position]
    via: dict[Path, tuple[str, ...]] = field(default_factory=dict)
    files: tuple[FilePath, ...] = ()


def template_files(rules_dir: str | FilePath) -> list[FilePath]:
    base = FilePath(rules_dir) / TEMPLATES_DIR
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def find_template(name: str, rules_dir: FilePath) -> FilePath | None:
    """``rules/templates/NAME.yaml`` (or ``.yml``), else the rule file ``rules/NAME.yaml``."""
    for folder in (rules_dir / TEMPLATES_DIR, rules_dir):
        for suffix in RULE_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                return path
    return None


def template_names(rules_dir: FilePath) -> list[str]:
    return [p.stem for p in template_files(rules_dir)] + [
        p.stem for p in rules_dir.glob("*") if p.suffix in RULE_SUFFIXES
    ]


def extend(
    data: dict[str, Any],
    positions: dict[Path, Position],
    filename: str,
    rules_dir: FilePath | None,
    chain: tuple[FilePath, ...] = (),
) -> Merged:
    """``data`` (a rule file's mapping) with its ``extends:`` chain merged in.

    Raises :class:`RuleError` for a template that cannot be found, read or parsed, or a loop,
    placed at the ``extends:`` line of the file that names it."""
    name = data.get("extends")
    if name is None:
        return Merged(data, positions)
    where = positions.get(("extends",), Position(1, 1))

    def refuse(message: str) -> RuleError:
        return RuleError([Problem(filename, where.line, where.column, "extends", message)])

    if not isinstance(name, str) or not NAME.match(name):
        raise refuse(f"extends: names a template (letters, digits, _ and -), got {name!r}")
    if rules_dir is None:
        raise refuse("extends: needs the rules directory; this rule has none")
    path = find_template(name, rules_dir)
    if path is None:
        hint = did_you_mean(name, template_names(rules_dir))
        raise refuse(f"no template {name!r} in {rules_dir / TEMPLATES_DIR} or {rules_dir}{hint}")
    resolved = path.resolve()
    if resolved in chain or (filename != "<rule>" and FilePath(filename).resolve() == resolved):
        loop = " ← ".join(p.name for p in (*chain, resolved))
        raise refuse(f"extends: loops ({loop})")
    if len(chain) + 1 >= MAX_CHAIN:
        raise refuse(f"extends: goes deeper than {MAX_CHAIN} files")
    try:
        parent_data, parent_positions = _parsed(path)
        if not isinstance(parent_data, dict):
            raise RuleError([Problem(str(path), 1, 1, "", "a template is a mapping")])
        parent = extend(parent_data, parent_positions, str(path), rules_dir, (*chain, resolved))
    except YamlError as exc:
        link = f"{path}:{exc.position.line}:{exc.position.column}"
        raise _placed(refuse(f"template {name!r}: {exc.message}"), (link,)) from None
    except RuleError as exc:  # a broken template is this file's problem, at its extends: line
        raise RuleError(
            [
                dataclasses.replace(
                    p,
                    file=filename,
                    line=where.line,
                    column=where.column,
                    path="extends",
                    message=p.message
                    if p.message.startswith("template '")
                    else f"template {name!r}: {p.message}",
                    via=(f"{p.file}:{p.line}:{p.column}", *p.via),
                )
                for p in exc.problems
            ]
        ) from None
    return _merge_into(parent, data, positions, filename, where, path)


_PARSED: OrderedDict[tuple, tuple[Any, dict[Path, Position]]] = OrderedDict()
_PARSED_MAX = 64
_PARSED_LOCK = threading.Lock()  # the data service compiles in several threads


def _parsed(path: FilePath) -> tuple[Any, dict[Path, Position]]:
    """A template file parsed (a copy: rules change what they merge), read once while it is
    unchanged: a table of 1,000 sites reads its template once, not 1,000 times."""
    key = stamp(path)
    with _PARSED_LOCK:
        hit = _PARSED.get(key)
    if hit is None:
        hit = load_yaml(read_text(path, "template"), str(path))
        with _PARSED_LOCK:
            _PARSED[key] = hit
            while len(_PARSED) > _PARSED_MAX:
                _PARSED.popitem(last=False)
    return copy.deepcopy(hit[0]), hit[1]


def _placed(error: RuleError, via: tuple[str, ...]) -> RuleError:
    return RuleError([dataclasses.replace(p, via=via) for p in error.problems])


def _merge_into(
    parent: Merged,
    data: dict[str, Any],
    positions: dict[Path, Position],
    filename: str,
    where: Position,
    template: FilePath,
) -> Merged:
    here = f"{template}:{{line}}:{{column}}"
    via: dict[Path, tuple[str, ...]] = {}
    merged_positions: dict[Path, Position] = {}
    for path, pos in parent.positions.items():  # inherited: placed at extends:, then the chain
        if path and path[0] in NOT_INHERITED:
            continue
        merged_positions[path] = where
        via[path] = (here.format(line=pos.line, column=pos.column), *parent.via.get(path, ()))
    inherited = {k: v for k, v in parent.data.items() if k not in NOT_INHERITED}
    merged = merge(inherited, {k: v for k, v in data.items() if k != "extends"})
    merged["extends"] = data["extends"]  # the rule says what it was made from
    for path in list(merged_positions):  # what the rule removed or replaced is not inherited
        if not _present(merged, path) or _owned(data, path):
            merged_positions.pop(path)
            via.pop(path, None)
    for path, pos in positions.items():
        if _present(merged, path):
            merged_positions[path] = pos
            via.pop(path, None)
    merged_positions.setdefault((), Position(1, 1))
    return Merged(merged, merged_positions, via, (*parent.files, template))


def merge(base: Any, over: Any) -> Any:
    """``over`` on ``base``: mappings deeply, ``None`` removes, anything else replaces.

    >>> merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2], "e": 3}, "d": None})
    {'a': {'b': 1, 'c': [2], 'e': 3}}
    """
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif key in out:
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _present(data: Any, path: Path) -> bool:
    for part in path:
        found = isinstance(data, dict) and part in data
        found = found or (isinstance(data, list) and isinstance(part, int) and part < len(data))
        if not found:
            return False
        data = data[part]
    return True


def _owned(data: Any, path: Path) -> bool:
    """The rule itself wrote a value at ``path`` or replaced a non-mapping above it."""
    for depth, part in enumerate(path):
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
        if not isinstance(data, dict):
            return True  # a list or a scalar replaces everything under it
        if depth == len(path) - 1:
            return False  # a mapping merges: the template's keys under it stay inherited
    return False
