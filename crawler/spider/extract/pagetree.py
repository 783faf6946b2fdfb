"""The lxml tree extraction runs on: one parse per response, owned by the caller alone.

:func:`page_root` gives the same tree as ``response.selector.root`` without either of that
property's costs:

- no cached selector on the response: ``response.selector`` points back at the response
  (scrapy/scrapy#2977), a reference cycle that keeps the body, its text and the tree alive until
  the garbage collector's next full pass, about a hundred big pages at once;
- for a UTF-8 HTML page (most of the web), no round trip through ``str``: Scrapy's selector
  parses ``response.text.strip().replace("\\0", "").encode("utf8")``, three copies of the page,
  which for valid UTF-8 are the body's own bytes. Those are parsed as they are wherever that is
  provably the same document: valid UTF-8 (libxml2 reports no encoding error and the decoded
  text has no U+FFFD), no byte-order mark, no NUL, and ends that ``str.strip`` and
  ``bytes.strip`` agree on. Anything else takes Scrapy's own path.
"""

from __future__ import annotations

import codecs
from typing import Any

from lxml import etree, html
from scrapy.http import HtmlResponse, TextResponse
from scrapy.selector import Selector
from scrapy.utils.response import get_base_url

_ENCODING_ERRORS = frozenset(
    {etree.ErrorTypes.ERR_INVALID_CHAR, etree.ErrorTypes.ERR_INVALID_ENCODING}
)


def page_root(response: TextResponse) -> Any:
    """The root element of ``response`` parsed as Scrapy's selector parses it (see module doc)."""
    root = _utf8_root(response) if isinstance(response, HtmlResponse) else None
    if root is None:
        # A Selector of our own, not response.selector: nothing points back at this one.
        root = Selector(response).root
    return root


def _plain(byte: int) -> bool:
    # printable ASCII: neither str.strip nor bytes.strip would take it off an end
    return 0x20 < byte < 0x7F


def _utf8_root(response: HtmlResponse) -> Any | None:
    try:
        if codecs.lookup(response.encoding).name != "utf-8":
            return None
    except LookupError:
        return None
    body = response.body
    if body.startswith(codecs.BOM_UTF8) or b"\0" in body:
        return None
    body = body.strip()
    if not body or not (_plain(body[0]) and _plain(body[-1])):
        return None
    if (
        "\ufffd" in response.text
    ):  # decoded already by the ban check; replaced bytes or a real U+FFFD
        return None
    parser = html.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    try:
        root = etree.fromstring(body, parser=parser, base_url=get_base_url(response))
    except etree.XMLSyntaxError:
        return None
    if root is None or any(e.type in _ENCODING_ERRORS for e in parser.error_log):
        return None
    return root
