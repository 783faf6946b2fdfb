"""What a rule expects of its pages: the rule spider's answer to the ban middleware's question
(:class:`crawler.antiban.ExpectsContent`) before it takes a page for a wall.

A response is content when it is a page of the rule (the page type its request named, else the
one whose ``match`` fits its URL) and yields that page type's required fields: at least one of
its items has every field the rule declares ``required: true`` and every field its item type
requires (its key fields included, through the rule's ``map``) filled. The page is extracted as
the crawl would extract it; the middleware asks only about pages the ban policy already doubts,
so this costs an extraction on those pages alone. None (cannot tell) for a response of no page
type, or of a page type that emits no items or requires nothing.

``render: auto`` asks a stronger question of every static page of its types
(:func:`lacks_content`): a page of no items and no links lacks its content too.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from crawler.rules.model import Rule
from crawler.rules.routing import ItemRoute
from crawler.spider.extract.inputs import EMPTY_VALUES


def required_fields(rule: Rule, page: str, route: ItemRoute | None) -> tuple[str, ...]:
    """The fields every item of page type ``page`` must have filled, by their extracted names;
    empty when its items need nothing, or it emits none.

    >>> from crawler.rules.model import FieldSpec, PageType, Selector
    >>> from types import SimpleNamespace
    >>> post = PageType("post", fields=(FieldSpec("title", Selector(css="h1"), required=True),
    ...                                 FieldSpec("tags", Selector(css="a.tag"))))
    >>> required_fields(SimpleNamespace(pages={"post": post}), "post", None)
    ('title',)
    """
    spec = rule.pages[page]
    if not spec.emits_items:
        return ()
    fields = list(spec.fields)
    if spec.rows is not None:
        fields += spec.rows.fields
    names = [f.name for f in fields if f.required]
    item_type = route.item_type if route is not None else None
    if item_type is not None:
        for name, declaration in item_type.fields.items():
            if declaration.get("required") or name in item_type.key:
                names.append(route.map.get(name, name))
    return tuple(dict.fromkeys(n for n in names if not n.startswith("_")))


def expects_content(spider: Any, response: Response) -> bool | None:
    """Whether ``response`` yields its page type's required fields (None: cannot tell), for a
    rule spider (its ``compiled`` rule, ``routes``, :meth:`~crawler.spider.RuleSpider.page_of`
    and :meth:`~crawler.spider.RuleSpider.extract_page`)."""
    page = spider.page_of(response)
    if page is None:
        return None
    required = required_fields(spider.compiled.rule, page, spider.routes.get(page))
    if not required:
        return None
    _, result = spider.extract_page(response)
    return _any_whole(result.items, required)


def _any_whole(items: list[dict[str, Any]], required: tuple[str, ...]) -> bool:
    """Whether one of ``items`` has every field of ``required`` filled."""
    return any(all(item.get(name) not in EMPTY_VALUES for name in required) for item in items)


def lacks_content(spider: Any, response: Response) -> str | None:
    """Why ``response`` is not a whole page of its type (``render: auto``'s question of a static
    page): ``required`` (no item has its required fields), ``no_items`` (a type that emits items
    gave none), ``no_links`` (a type of links only gave none); None when it is whole, or of no
    page type. Returns with the extraction kept for the spider's callback (one extraction)."""
    page = spider.page_of(response)
    if page is None:
        return None
    extracted = spider.extract_page(response)
    spider.extracted = (response, extracted)
    _, result = extracted
    spec = spider.compiled.rule.pages[page]
    if not spec.emits_items:
        return None if result.follows else "no_links"
    if not result.items:
        return "no_items"
    required = required_fields(spider.compiled.rule, page, spider.routes.get(page))
    if required and not _any_whole(result.items, required):
        return "required"
    return None
