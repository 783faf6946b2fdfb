"""The fields a dead letter failed on, and where its rule defines them.

A dead letter's ``_errors`` are ``field: message`` lines (the item type's, in declaration
order; ``_reason`` joins them with ``; ``), or its reason says ``missing key field 'x'``. Each
failing field is looked up in the file of the letter's rule (``_rule``): the line of its
``fields: {name: ...}`` entry under the letter's page type (``_page``) when there is one, else
the first such entry anywhere in the file, else none (a field the rule gets from a template).
The rule files are read with the compiler's own loader (:mod:`crawler.rules.yamlpos`), once per
rule per answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from crawler.rules.yamlpos import load_yaml
from crawler.service.rulefiles import rule_path

_FIELD = re.compile(r"^\s*([A-Za-z_][\w-]*)[^:]{0,200}?:\s?(.*)$", re.S)
_MISSING_KEY = re.compile(r"^missing key field '([^']+)'")
MAX_LINES = 20  # failing fields reported per dead letter
MAX_FILE = 1_000_000  # bytes of a rule file read to find its fields


def failures(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """``[{field, message}]`` of a dead letter (field ``""`` when no field is named).

    >>> failures({"_errors": ["price: must be a number", "title: is required"]})
    [{'field': 'price', 'message': 'must be a number'}, {'field': 'title', 'message': 'is required'}]
    >>> failures({"_reason": "missing key field 'url'"})
    [{'field': 'url', 'message': "missing key field 'url'"}]
    """
    errors = doc.get("_errors")
    reason = doc.get("_reason")
    if isinstance(errors, list) and errors:
        lines = [str(e) for e in errors]
    elif isinstance(reason, str) and reason:
        missing = _MISSING_KEY.match(reason)
        if missing:
            return [{"field": missing.group(1), "message": reason}]
        lines = reason.split("; ")
    else:
        return []
    out = []
    for line in lines[:MAX_LINES]:
        found = _FIELD.match(line)
        if found:
            out.append({"field": found.group(1), "message": found.group(2)})
        else:
            out.append({"field": "", "message": line})
    return out


def field_lines(positions: Mapping[tuple[Any, ...], Any], page: Any) -> dict[str, int]:
    """Each field name's line in a rule file: under page type ``page`` first, else the first
    ``fields:`` entry of that name anywhere."""
    lines: dict[str, int] = {}
    own: dict[str, int] = {}
    for path, position in positions.items():
        if len(path) < 2 or path[-2] != "fields" or not isinstance(path[-1], str):
            continue
        name = path[-1]
        if path[:2] == ("pages", page) and name not in own:
            own[name] = position.line
        lines.setdefault(name, position.line)
    return {**lines, **own}


class RuleLines:
    """Field lines of the rules of one rules directory, each file read once."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = rules_dir
        self._positions: dict[str, Mapping[tuple[Any, ...], Any] | None] = {}

    def positions(self, rule: Any) -> Mapping[tuple[Any, ...], Any] | None:
        if not isinstance(rule, str):
            return None
        if rule not in self._positions:
            try:
                path = rule_path(self.rules_dir, rule)
                text = path.read_text("utf-8") if path.stat().st_size <= MAX_FILE else None
                self._positions[rule] = load_yaml(text, str(path))[1] if text else None
            except (OSError, ValueError):  # no such rule any more, or a file that is not YAML
                self._positions[rule] = None
        return self._positions[rule]

    def annotate(self, docs: Iterable[dict[str, Any]]) -> None:
        """Add ``_fields`` to each dead letter: ``[{field, message, line}]`` (line: in its rule's
        file, or null)."""
        for doc in docs:
            positions = self.positions(doc.get("_rule"))
            lines = field_lines(positions, doc.get("_page")) if positions else {}
            doc["_fields"] = [{**f, "line": lines.get(f["field"])} for f in failures(doc)]
