"""page_root gives the tree Scrapy's selector gives, parsing UTF-8 bytes as they are when safe."""

from __future__ import annotations

import pytest
from lxml import etree
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.selector import Selector

from crawler.spider.extract.pagetree import _utf8_root, page_root
from tests.sample_site import blog, markup
from tests.sample_site.data import NEWS, catalogue

UTF8 = {"Content-Type": "text/html; charset=utf-8"}
PAGE = b'<!DOCTYPE html><html><head><base href="/shop/"></head><body><p>caf\xc3\xa9 \xe2\x80\x94 x</p></body></html>'

# (name, body, headers, parsed from the bytes as they are?)
CASES = [
    ("blog post", blog.post_page(blog.posts(3)[2]), UTF8, True),
    ("book", markup.book_page(catalogue(7)[6]), UTF8, True),
    ("charset in meta only", PAGE.replace(b"<head>", b'<head><meta charset="utf-8">'), {}, True),
    ("whitespace at both ends", b" \r\n\t" + PAGE + b"\n\n \x0c", UTF8, True),
    ("broken book: invalid UTF-8", markup.BROKEN_BOOK, UTF8, False),
    ("broken page: invalid UTF-8", markup.BROKEN_PAGE, UTF8, False),
    ("surrogate bytes", PAGE.replace(b"x</p>", b"\xed\xa0\x80</p>"), UTF8, False),
    ("a real U+FFFD", PAGE.replace(b"x</p>", "\ufffd".encode() + b"</p>"), UTF8, False),
    ("byte-order mark", b"\xef\xbb\xbf" + PAGE, UTF8, False),
    ("NUL", PAGE.replace(b"x</p>", b"x\x00y</p>"), UTF8, False),
    ("NBSP first (str.strip takes it)", b"\xc2\xa0" + PAGE, UTF8, False),
    ("\\x1c last (str.strip takes it)", PAGE + b"\x1c", UTF8, False),
    ("GB18030", markup.news_page(NEWS[0]), {"Content-Type": "text/html; charset=gb18030"}, False),
    ("empty", b"", UTF8, False),
    ("spaces only", b"  \n ", UTF8, False),
]


@pytest.mark.parametrize("name,body,headers,fast", CASES, ids=[c[0] for c in CASES])
def test_the_same_tree_as_scrapys_selector(name, body, headers, fast):
    response = HtmlResponse("http://example.com/a/b.html", body=body, headers=headers)
    expected = Selector(response=response.replace()).root
    root = page_root(response)
    assert etree.tostring(root, encoding="unicode") == etree.tostring(expected, encoding="unicode")
    assert root.getroottree().docinfo.URL == expected.getroottree().docinfo.URL
    assert (_utf8_root(response) is not None) is fast


def test_other_responses_take_scrapys_path():
    response = XmlResponse("http://example.com/f.xml", body=b"<?xml version='1.0'?><a><b>1</b></a>")
    assert etree.tostring(page_root(response)) == etree.tostring(Selector(response).root)
