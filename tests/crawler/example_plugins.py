"""A project plugin module, loaded by dotted name through PLUGIN_MODULES in the tests."""

from cleaners import cleaner
from crawler.core.plugins import extractor


@extractor("meta")
def meta_content(page, *, name: str):
    """The content of <meta name=NAME>, or of <meta property=NAME>."""
    return page.node.xpath(f"//meta[@name='{name}' or @property='{name}']/@content")


@extractor("json_ld")
def json_ld(page, *, key: str):
    """A top-level value of the page's first JSON-LD block."""
    import json

    blocks = page.node.xpath("//script[@type='application/ld+json']/text()")
    return json.loads(blocks[0]).get(key) if blocks else None


@cleaner("exclaim")
def exclaim(value, *, marks: int = 1):
    """Upper-case and add exclamation marks.

    >>> exclaim("hi", marks=2)
    'HI!!'
    """
    return value.upper() + "!" * marks
