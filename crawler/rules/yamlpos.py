"""YAML loading that remembers where every value came from, and refuses what a rule file has no
business holding.

Rule files are edited by people (and, through the data service, posted by browsers); every error
must point at a line and column, and no file may exhaust the machine. PyYAML's safe composer
gives node marks; this module builds plain Python data from the node tree, with a map from each
value's path to its position, under limits: nesting depth, values after alias expansion (the
"billion laughs" bomb), scalar length, digits of a number. Only the core tags are accepted (no
``!!python/...``, no custom tags), and an unreadable character is reported at its real line and
column.

>>> data, pos = load_yaml("a:\\n  b: [1, 2]\\n", "x.yaml")
>>> data
{'a': {'b': [1, 2]}}
>>> pos[("a", "b", 1)]
Position(line=2, column=10)
>>> load_yaml("a: !!python/name:os.system x")
Traceback (most recent call last):
...
crawler.rules.yamlpos.YamlError: YAML tag '!!python/name:os.system' is not allowed in rules
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]

MAX_DEPTH = 64  # mappings and lists inside each other
MAX_VALUES = 20_000  # values after aliases are expanded (a big rule has a few hundred)
MAX_SCALAR = 100_000  # characters of one value
MAX_DIGITS = 30  # digits of a number

_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}
ALLOWED_TAGS.add(_CORE + "timestamp")  # plain dates; the schema then says where they may go


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class YamlError(ValueError):
    """A file that is not well-formed YAML, holds what rules may not (tags, merge keys, repeated
    keys), or is beyond the limits."""

    def __init__(self, message: str, position: Position, path: Path = ()):
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _text_position(text: str, index: int) -> Position:
    line = text.count("\n", 0, index) + 1
    return Position(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _check_depth(text: str, loader: type = yaml.SafeLoader) -> None:
    """Refuse deep nesting before composing (PyYAML's composer recurses once per level)."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=loader):
            if isinstance(
                token,
                yaml.BlockMappingStartToken
                | yaml.BlockSequenceStartToken
                | yaml.FlowMappingStartToken
                | yaml.FlowSequenceStartToken,
            ):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError(
                        f"nesting deeper than {MAX_DEPTH} levels", _pos(token.start_mark)
                    )
            elif isinstance(
                token, yaml.BlockEndToken | yaml.FlowMappingEndToken | yaml.FlowSequenceEndToken
            ):
                depth -= 1
    except yaml.YAMLError:
        return  # composing reports the syntax error with its position


def _fast_compose(text: str) -> yaml.Node | None:
    """The node tree through libyaml (a 1,000-row site table: 0.03 s instead of 0.5 s), or
    None: then the pure-Python loader does it again, and says what is wrong in its own words
    (at the same positions). Text the pure reader refuses never takes this path."""
    if not getattr(yaml, "__with_libyaml__", False) or yaml.reader.Reader.NON_PRINTABLE.search(
        text
    ):
        return None
    try:
        _check_depth(text, yaml.CSafeLoader)
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, RecursionError, YamlError):
        return None


def load_yaml(text: str, filename: str = "<string>") -> tuple[Any, dict[Path, Position]]:
    """Parse one YAML document; return (data, {path: position}). The position of a mapping value
    is where its key starts, which is where a person looks."""
    node = _fast_compose(text)
    try:
        if node is None:
            _check_depth(text)
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise YamlError(
            f"invalid YAML: character {char!r} (U+{ord(char):04X}) is not allowed in a rule file",
            _text_position(text, exc.position),
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _pos(mark) if mark else Position(1, 1)
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}, {problem}"
        raise YamlError(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:  # pragma: no cover - other errors are marked
        raise YamlError(f"invalid YAML: {exc}", Position(1, 1)) from None
    except RecursionError:  # a structure the depth scan could not see (it never should)
        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", Position(1, 1)) from None
    positions: dict[Path, Position] = {}
    if node is None:
        return None, positions
    return _Builder(positions).build(node, (), 0), positions


class _Builder:
    def __init__(self, positions: dict[Path, Position]) -> None:
        self.positions = positions
        self.values = 0
        self.active: set[int] = set()  # nodes being built: an alias back to one is a cycle
        self.constructor = yaml.constructor.SafeConstructor()  # scalars: the core schema

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise YamlError(
                f"more than {MAX_VALUES:,} values once aliases are expanded",
                _pos(node.start_mark),
                path,
            )
        if depth > MAX_DEPTH:
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", _pos(node.start_mark), path)
        if node.tag not in ALLOWED_TAGS:
            shown = node.tag.replace(_CORE, "!!")
            raise YamlError(
                f"YAML tag {shown!r} is not allowed in rules", _pos(node.start_mark), path
            )
        self.positions.setdefault(path, _pos(node.start_mark))
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node, path, self.constructor)
        if id(node) in self.active:
            raise YamlError(
                "an alias refers to a value that contains it", _pos(node.start_mark), path
            )
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _CORE + "merge":
                raise YamlError(
                    "YAML merge keys (<<) are not supported in rules",
                    _pos(key_node.start_mark),
                    path,
                )
            key = self.build(key_node, path + ("<key>",), depth + 1)
            if isinstance(key, list | dict):
                raise YamlError(
                    "a mapping key must be a plain value", _pos(key_node.start_mark), path
                )
            if key in out:
                first = self.positions.get(path + (key,))
                where = f" (first at line {first.line})" if first else ""
                raise YamlError(
                    f"duplicate key {key!r}{where}", _pos(key_node.start_mark), path + (key,)
                )
            self.positions[path + (key,)] = _pos(key_node.start_mark)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out


def _scalar(node: yaml.ScalarNode, path: Path, constructor: Any) -> Any:
    if len(node.value) > MAX_SCALAR:
        raise YamlError(
            f"a value longer than {MAX_SCALAR:,} characters", _pos(node.start_mark), path
        )
    if node.tag in (_CORE + "int", _CORE + "float"):
        digits = sum(c.isdigit() for c in node.value)
        if digits > MAX_DIGITS:
            raise YamlError(
                f"a number with more than {MAX_DIGITS} digits", _pos(node.start_mark), path
            )
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise YamlError(f"invalid value: {exc}", _pos(node.start_mark), path) from None
    finally:  # one value at a time: nothing is kept from one scalar to the next
        constructor.constructed_objects.clear()
        constructor.recursive_objects.clear()
