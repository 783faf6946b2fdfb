"""Compiled extraction: a rule's selectors, fields, links and pagination, run on one response.

Each selector compiles once per rule into a plain function; lxml's compiled XPath (CSS is
translated to XPath once) is reused across pages.

- :mod:`.inputs`: the response, parsed lazily, and the scope (page or row) selectors run on
- :mod:`.selectors`: XPath, CSS, JMESPath, regex and plugin extractors as functions
- :mod:`.fields`, :mod:`.links`: fields, links and pagination
- :mod:`.pages`: page types and the whole rule
- :mod:`.found`: what links, rows and pagination found on a page, and which found nothing
"""

from crawler.spider.extract.found import Found, nothing_found
from crawler.spider.extract.inputs import EMPTY_VALUES, ExtractError, PageInput, Scope
from crawler.spider.extract.links import Follow
from crawler.spider.extract.pages import CompiledPage, CompiledRule, PageResult, plain_items
from crawler.spider.extract.selectors import compile_selector

__all__ = [
    "EMPTY_VALUES",
    "CompiledPage",
    "CompiledRule",
    "ExtractError",
    "Follow",
    "Found",
    "PageInput",
    "PageResult",
    "Scope",
    "compile_selector",
    "nothing_found",
    "plain_items",
]
