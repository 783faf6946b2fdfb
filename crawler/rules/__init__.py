"""The rule compiler: rule files in; typed rules, item types, problems and request specifications
out (:func:`load_rules` gives a :class:`Ruleset`: rules, item types, problems).

No Scrapy here (a test checks it). What it owns:

- reading files, bounded, with a cache a changed file invalidates (:mod:`.files`, :mod:`.yamlpos`)
- one :class:`Problem` type with a severity and a position (:mod:`.problems`)
- the sections of a rule, each declaring its schema, checks and settings (:mod:`.sections`),
  and the JSON Schema generated from them (:mod:`.schema`)
- expression checks (:mod:`.expressions`), URL templates (:mod:`.templates`)
- item types (:mod:`.itemtypes`)
- request specifications, a pure function of rule and arguments (:mod:`.request_specs`)
"""

from crawler.rules.compile_context import CompileContext
from crawler.rules.compiler import Ruleset, compile_rule, load_rule, load_rules
from crawler.rules.model import Rule
from crawler.rules.problems import Problem, RuleError, Severity

__all__ = [
    "CompileContext",
    "Problem",
    "Rule",
    "RuleError",
    "Ruleset",
    "Severity",
    "compile_rule",
    "load_rule",
    "load_rules",
]
