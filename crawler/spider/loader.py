"""A spider loader that builds one spider per rule file (plus any hand-written spiders).

``scrapy list`` lists valid rules; a broken rule is reported on stderr with its problems instead
of hiding the others, and ``scrapy crawl <broken-rule>`` says what is wrong without a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from scrapy.exceptions import UsageError
from scrapy.spiderloader import SpiderLoader

from crawler.rules import Problem
from crawler.rules.problems import did_you_mean
from crawler.spider.project import project_rules
from crawler.spider.rule_spider import RuleRefused, RuleSpider

logger = logging.getLogger(__name__)


class RuleSpiderLoader(SpiderLoader):
    def __init__(self, settings):
        super().__init__(settings)
        self.rules_dir = settings.get("RULES_DIR")
        ruleset = project_rules(settings)
        self.problems = ruleset.errors
        self.broken = {_rule_name(p) for p in self.problems}
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

    def load(self, spider_name: str):
        try:
            return super().load(spider_name)
        except KeyError:
            if spider_name in self.broken:
                details = "\n".join(f"  {p}" for p in self.problems if _rule_name(p) == spider_name)
                raise RuleRefused(
                    f"rule {spider_name!r} has problems:\n{details}", print_help=False
                ) from None
            hint = did_you_mean(spider_name, self._spiders)
            raise UsageError(
                f"no rule or spider named {spider_name!r}{hint}", print_help=False
            ) from None


def _rule_name(problem: Problem) -> str:
    return Path(problem.file).stem
