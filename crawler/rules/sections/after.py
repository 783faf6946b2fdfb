"""``after:``: chained runs. The rule runs after other rules have run (named one by one, by tag,
or by site table), when their runs ended with an allowed status (``when``, default
``[finished]``)::

    after: {rules: [list_site], tags: [gov], tables: [gov_sites], when: [finished]}

This module checks the rule's own part (a status that exists, not itself by name); which
names exist and whether the chains loop (a -> b -> a, through tags and tables too) is checked
over the whole rules directory (:mod:`crawler.rules.chains`). What starts the chained runs is
crawler/schedule/chains.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.problems import format_path
from crawler.rules.sections import Section
from crawler.rules.sections.meta import TAG

# The statuses of crawler/core/exitcodes.py (a lower layer cannot import it: a test checks that
# both say the same).
RUN_STATUSES = (
    "finished",
    "failed",
    "usage_error",
    "rule_error",
    "start_error",
    "blocked",
    "data_not_stored",
    "monitor_failed",
    "interrupted",
    "stalled",
)
NAME = "^[A-Za-z0-9][A-Za-z0-9_-]*$"
KINDS = ("rules", "tags", "tables")


def _names(pattern: str, what: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "pattern": pattern},
        "uniqueItems": True,
        "maxItems": 100,
        "description": what,
    }


AFTER = {
    "type": "object",
    "description": "Run this rule after other rules have run (chained runs): once every one of "
    "them has a run that ended with a status of `when` since this rule's last run.",
    "properties": {
        "rules": _names(NAME, "Rules this one runs after."),
        "tags": _names(TAG, "Every rule with one of these tags."),
        "tables": _names(NAME, "Every rule (row) of these site tables (rules/tables/NAME)."),
        "when": {
            "type": "array",
            "items": {"enum": list(RUN_STATUSES)},
            "uniqueItems": True,
            "minItems": 1,
            "default": ["finished"],
            "description": "The statuses a predecessor's run may end with (default: finished).",
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Where:
    """A place in the rule file (the ``after:`` key, or one name under it), for the problems
    only the whole rules directory can find."""

    file: str
    line: int
    column: int
    path: str
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class After:
    rules: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    when: tuple[str, ...] = ("finished",)
    # ("after",) and (kind, name) -> where it is written
    where: tuple[tuple[tuple[str, ...], Where], ...] = ()

    def at(self, *key: str) -> Where:
        found = dict(self.where)
        return found.get(tuple(key)) or found[("after",)]

    def json(self) -> dict[str, Any]:
        return {
            "rules": list(self.rules),
            "tags": list(self.tags),
            "tables": list(self.tables),
            "when": list(self.when),
        }


def _where(ctx: BuildContext, path: tuple) -> Where:
    report = ctx.report
    closest = report._closest(path)
    pos = report.position(path)
    return Where(
        report.filename, pos.line, pos.column, format_path(path), report.via.get(closest, ())
    )


def build(ctx: BuildContext) -> After | None:
    spec = ctx.data.get("after")
    if not isinstance(spec, dict) or ctx.broken(("after",)):
        return None
    values = {kind: tuple(ctx.part(spec, kind, ("after",), ())) for kind in KINDS}
    if not any(values.values()):
        ctx.error(("after",), "after: names no rule, tag or table to run after")
        return None
    where = [(("after",), _where(ctx, ("after",)))]
    for kind in KINDS:
        for i, name in enumerate(values[kind]):
            where.append(((kind, name), _where(ctx, ("after", kind, i))))
    when = tuple(ctx.part(spec, "when", ("after",), ("finished",)))
    return After(**values, when=when, where=tuple(where))


def finish(rule: Any, ctx: BuildContext) -> None:
    after = rule.section("after")
    if after is not None and rule.name in after.rules:
        i = after.rules.index(rule.name)
        ctx.error(("after", "rules", i), f"a rule cannot run after itself ({rule.name!r})")


SECTION = Section(
    name="after",
    order=65,
    properties={"after": {"$ref": "#/$defs/after"}},
    defs={"after": AFTER},
    build=build,
    finish=finish,
)
