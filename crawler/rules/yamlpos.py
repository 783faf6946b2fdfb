"""YAML loading that remembers where every value came from.

Rule files are edited by people; every error must point at a line and column. PyYAML's
composer gives node marks; this module builds plain Python data from the node tree and a
map from each value's path to its position.

>>> data, pos = load_yaml("a:\\n  b: [1, 2]\\n", "x.yaml")
>>> data
{'a': {'b': [1, 2]}}
>>> pos[("a", "b", 1)]
Position(line=2, column=10)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class YamlError(ValueError):
    """A file that is not well-formed YAML, or a mapping with a repeated key."""

    def __init__(self, message: str, position: Position, path: Path = ()):
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(text: str, filename: str = "<string>") -> tuple[Any, dict[Path, Position]]:
    """Parse one YAML document; return (data, {path: position}). Keys' positions are
    stored under the path with a trailing ``("<key>",)`` marker-free form: the position of
    a mapping value is where its key starts, which is where a person looks."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _pos(mark) if mark else Position(1, 1)
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}, {problem}"
        raise YamlError(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:  # pragma: no cover - composer errors are all marked
        raise YamlError(f"invalid YAML: {exc}", Position(1, 1)) from None
    positions: dict[Path, Position] = {}
    if node is None:
        return None, positions
    return _build(node, (), positions), positions


def _build(node: yaml.Node, path: Path, positions: dict[Path, Position]) -> Any:
    positions.setdefault(path, _pos(node.start_mark))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError(
                    "YAML merge keys (<<) are not supported in rules",
                    _pos(key_node.start_mark),
                    path,
                )
            key = _build(key_node, path + ("<key>",), {})
            if isinstance(key, (list, dict)):
                raise YamlError(
                    "a mapping key must be a plain value", _pos(key_node.start_mark), path
                )
            if key in out:
                first = positions.get(path + (key,))
                where = f" (first at line {first.line})" if first else ""
                raise YamlError(
                    f"duplicate key {key!r}{where}", _pos(key_node.start_mark), path + (key,)
                )
            positions[path + (key,)] = _pos(key_node.start_mark)
            out[key] = _build(value_node, path + (key,), positions)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, path + (i,), positions) for i, child in enumerate(node.value)]
    return _scalar(node)
