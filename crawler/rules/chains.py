"""Chained runs over a rules directory: who runs after whom (``after:``, the rule section
crawler/rules/sections/after.py), and the problems only the whole directory shows: a rule, tag
or table ``after:`` names that does not exist, and chains that loop (a -> b -> a, through tags
and tables too). Pure: what starts the chained runs is crawler/schedule/chains.py.

A tag or table names every rule that has it, but the naming rule itself: a rule of the tag
``gov`` may run after the other ``gov`` rules.

>>> from types import MappingProxyType as M
>>> from crawler.rules.model import Rule, RuleMeta
>>> from crawler.rules.sections.after import After
>>> def rule(name, tags=(), after=None):
...     return Rule(name, None, M({"meta": RuleMeta(tags=tags), "after": after}))
>>> rules = {r.name: r for r in [rule("a", ("gov",)), rule("b", ("gov",)),
...          rule("c", after=After(tags=("gov",)))]}
>>> sorted(predecessors(rules["c"], rules)), successors("a", rules)
(['a', 'b'], ['c'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from crawler.rules.model import Rule
from crawler.rules.problems import Problem, did_you_mean
from crawler.rules.sections.after import After, Where


def after_of(rule: Rule) -> After | None:
    after = rule.section("after")
    return after if isinstance(after, After) else None


def table_of(rule: Rule) -> str | None:
    """The site table a rule is a row of (its file's stem), None for a rule file."""
    return Path(rule.path).stem if rule.row and rule.path is not None else None


def predecessors(rule: Rule, rules: Mapping[str, Rule]) -> set[str]:
    """The rules ``rule`` runs after (those of them that exist), never itself."""
    after = after_of(rule)
    if after is None:
        return set()
    found = {name for name in after.rules if name in rules}
    tags, tables = set(after.tags), set(after.tables)
    for other in rules.values():
        if tags & set(other.tags) or (tables and table_of(other) in tables):
            found.add(other.name)
    found.discard(rule.name)
    return found


def successors(name: str, rules: Mapping[str, Rule]) -> list[str]:
    """The rules that run after rule ``name``, sorted."""
    return sorted(r.name for r in rules.values() if name in predecessors(r, rules))


def chain_json(name: str, rules: Mapping[str, Rule]) -> dict:
    """A rule's chain as the data service shows it: its ``after:``, predecessors, successors."""
    rule = rules.get(name)
    after = after_of(rule) if rule is not None else None
    return {
        "after": after.json() if after is not None else None,
        "predecessors": sorted(predecessors(rule, rules)) if rule is not None else [],
        "successors": successors(name, rules),
    }


def _problem(where: Where, message: str) -> Problem:
    return Problem(where.file, where.line, where.column, where.path, message, via=where.via)


def chain_problems(
    rules: Mapping[str, Rule],
    *,
    other_rules: Iterable[str] = (),
    other_tags: Iterable[str] = (),
    tables: Iterable[str] = (),
) -> dict[str, list[Problem]]:
    """Each rule's chain problems, by rule name: unknown names (``other_rules``/``other_tags``:
    those of broken rules, which exist but do not compile; ``tables``: every site table's name)
    and cycles."""
    names = set(rules) | set(other_rules)
    tags = {t for r in rules.values() for t in r.tags} | set(other_tags)
    known = {"rules": names, "tags": tags, "tables": set(tables)}
    what = {"rules": "rule", "tags": "tag", "tables": "site table"}
    found: dict[str, list[Problem]] = {}
    for rule in rules.values():
        after = after_of(rule)
        if after is None:
            continue
        for kind in ("rules", "tags", "tables"):
            for name in getattr(after, kind):
                if name not in known[kind]:
                    hint = did_you_mean(name, known[kind])
                    message = f"no {what[kind]} named {name!r}{hint}"
                    found.setdefault(rule.name, []).append(_problem(after.at(kind, name), message))
    for cycle in cycles(rules):
        for i, name in enumerate(cycle):
            loop = " -> ".join([*cycle[i:], *cycle[:i], name])
            message = f"the chain loops ({loop})"
            found.setdefault(name, []).append(_problem(after_of(rules[name]).at("after"), message))
    return found


def cycles(rules: Mapping[str, Rule]) -> list[list[str]]:
    """The loops of the chains: one list of rule names per loop found (each in run order)."""
    graph = {name: sorted(predecessors(rule, rules)) for name, rule in rules.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    found: list[list[str]] = []
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:  # back to the path: a loop, predecessors first
                found.append(list(reversed(path[path.index(child) :])))
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(graph[child])))
    return found
