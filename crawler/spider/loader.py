"""A spider loader that builds one spider per rule file (plus any hand-written spiders).

``scrapy list`` lists valid rules; a broken rule is reported on stderr with its problems instead
of hiding the others. A broken rule file answers to its file stem and to the ``name:`` it
declares, so ``scrapy crawl <name>`` lists its problems (``RuleRefused``, exit 3) whether the
file is not YAML, declares another name than its stem, or repeats a name another file took.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from scrapy.exceptions import UsageError
from scrapy.spiderloader import SpiderLoader

from crawler.rules import Problem, RuleError
from crawler.rules.files import read_text, types_dir
from crawler.rules.problems import did_you_mean
from crawler.rules.tables import TABLES_DIR
from crawler.rules.yamlpos import YamlError, load_yaml
from crawler.spider.project import project_rules
from crawler.spider.rule_spider import RuleRefused, RuleSpider

logger = logging.getLogger(__name__)


class RuleSpiderLoader(SpiderLoader):
    def __init__(self, settings):
        super().__init__(settings)
        self.rules_dir = settings.get("RULES_DIR")
        ruleset = project_rules(settings)
        self.problems = ruleset.errors
        self.broken = broken_names(self.problems, self.rules_dir)
        self.broken_rows = ruleset.broken  # a site table's broken rows, by name
        # a valid rule whose file stem is not its name: `scrapy crawl <stem>` points to the name
        self.stems = {
            r.path.stem: n
            for n, r in ruleset.rules.items()
            if r.path and r.path.stem != n and not r.row
        }
        self.tags = {name: rule.tags for name, rule in ruleset.rules.items()}
        # the site table each row comes from (its file's stem), broken rows included
        self.tables = {n: r.path.stem for n, r in ruleset.rules.items() if r.row and r.path}
        for name, problems in ruleset.broken.items():
            if problems:
                self.tables.setdefault(name, Path(problems[0].file).stem)
        for name, tags in ruleset.broken_tags.items():  # a broken row, by the tags it gives
            self.tags.setdefault(name, tags)
        for name, rule in ruleset.rules.items():
            if name in self._spiders:
                logger.warning("rule %s shadows a hand-written spider of the same name", name)
            self._spiders[name] = RuleSpider.for_rule(rule, ruleset.item_types)
        if self.problems:
            count = len({p.file for p in self.problems})
            print(
                f"warning: {count} rule file(s) have problems (run `scrapy validate`):",
                file=sys.stderr,
            )
            for problem in self.problems[:20]:
                print(f"  {problem}", file=sys.stderr)

    def tagged(self, tags: list[str]) -> list[str]:
        """The rules (valid, and broken table rows) with any of ``tags``, by name."""
        wanted = set(tags)
        return sorted(n for n, own in self.tags.items() if wanted & set(own))

    def in_table(self, table: str) -> list[str]:
        """The rows of the site table ``rules/tables/TABLE.*``, by name."""
        return sorted(n for n, stem in self.tables.items() if stem == table)

    def all_tables(self) -> list[str]:
        return sorted(set(self.tables.values()))

    def all_tags(self) -> list[str]:
        return sorted({t for own in self.tags.values() for t in own})

    def load(self, spider_name: str):
        row = self.broken_rows.get(spider_name)
        if row:
            details = "\n".join(f"  {p}" for p in row)
            raise RuleRefused(f"rule {spider_name!r} has problems:\n{details}", print_help=False)
        files = self.broken.get(spider_name)
        if files:  # broken, or a second file claiming the name: which one runs is not clear
            details = "\n".join(f"  {p}" for p in self.problems if p.file in files)
            raise RuleRefused(f"rule {spider_name!r} has problems:\n{details}", print_help=False)
        try:
            return super().load(spider_name)
        except KeyError:
            if spider_name in self.stems:
                hint = f" ({spider_name}.yaml declares the rule {self.stems[spider_name]!r})"
            else:
                hint = did_you_mean(spider_name, self._spiders)
            raise UsageError(
                f"no rule or spider named {spider_name!r}{hint}", print_help=False
            ) from None


def broken_names(problems: list[Problem], rules_dir: str | Path) -> dict[str, set[str]]:
    """Each name a broken rule file answers to (its stem, and the ``name:`` it declares when
    the file is readable YAML) -> the files. Item-type files (``types/``) are not rules."""
    types = Path(types_dir(rules_dir)).resolve()
    names: dict[str, set[str]] = {}
    for file in dict.fromkeys(p.file for p in problems):
        path = Path(file)
        if path.resolve().parent in (types, Path(rules_dir, TABLES_DIR).resolve()):
            continue  # not rules; a table's broken rows answer by name (Ruleset.broken)
        for name in {path.stem, declared_name(path)} - {None}:
            names.setdefault(name, set()).add(file)
    return names


def declared_name(path: Path) -> str | None:
    """The ``name:`` a rule file declares, or None when it cannot be read as a YAML mapping."""
    try:
        data, _ = load_yaml(read_text(path), str(path))
    except (RuleError, YamlError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None
