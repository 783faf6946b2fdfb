"""Encoding detection for pages that declare no charset, and a rule's forced encoding."""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.spider.encoding import EncodingMiddleware, detect_encoding
from tests.settings import project_settings

CHINESE = (
    "<html><body><h1>第十二届城市书展今日开幕</h1><p>"
    + "本届书展以「阅读让城市更温暖」为主题，设置了儿童读物、科普图书、古籍整理等六个展区。" * 4
    + "</p></body></html>"
)


def middleware(**settings) -> EncodingMiddleware:
    return EncodingMiddleware.from_crawler(get_crawler(settings_dict=project_settings(settings)))


def response(body: bytes, content_type: str = "text/html") -> HtmlResponse:
    url = "http://example.test/"
    return HtmlResponse(
        url, body=body, headers={"Content-Type": content_type}, request=Request(url)
    )


SHORT = '<html lang="zh-CN"><h1>秋季农产品丰收，价格保持稳定</h1></html>'


def test_undeclared_gb18030_is_detected_on_long_pages():
    raw = response(CHINESE.encode("gb18030"))
    fixed = middleware().process_response(raw.request, raw)
    assert "第十二届城市书展今日开幕" in fixed.text


def test_the_page_language_decides_on_short_pages():
    raw = response(SHORT.encode("gb18030"))
    assert "农产品" not in raw.text  # statistics alone get this short page wrong (cp949)
    fixed = middleware().process_response(raw.request, raw)
    assert fixed.encoding == "gb18030"
    assert "秋季农产品丰收，价格保持稳定" in fixed.text


def test_content_language_header_is_a_hint_too():
    body = "<html><h1>秋季農產品豐收，價格保持穩定</h1></html>".encode("big5hkscs")
    raw = HtmlResponse(
        "http://example.test/",
        body=body,
        request=Request("http://example.test/"),
        headers={"Content-Type": "text/html", "Content-Language": "zh-TW"},
    )
    fixed = middleware().process_response(raw.request, raw)
    assert fixed.encoding == "big5hkscs"
    assert "秋季農產品豐收，價格保持穩定" in fixed.text


def test_declared_encodings_and_utf8_are_left_alone():
    mw = middleware()
    declared = response(CHINESE.encode("gb18030"), "text/html; charset=gbk")
    assert mw.process_response(declared.request, declared) is declared
    utf8 = response(CHINESE.encode("utf-8"))
    assert mw.process_response(utf8.request, utf8) is utf8
    meta = response(b'<meta charset="gb2312">' + CHINESE.encode("gb18030"))
    assert mw.process_response(meta.request, meta) is meta


def test_forced_encoding_wins():
    body = CHINESE.encode("gb18030")
    forced = middleware(RESPONSE_ENCODING="gb18030").process_response(
        None, response(body, "text/html; charset=utf-8")
    )
    assert "书展" in forced.text


def test_detection_can_be_switched_off_and_never_raises_on_garbage():
    raw = response(CHINESE.encode("gb18030"))
    assert middleware(RESPONSE_ENCODING_DETECT=False).process_response(raw.request, raw) is raw
    assert isinstance(detect_encoding(bytes(range(128, 256)) * 10, "zh"), (str, type(None)))
    garbage = response(bytes(range(128, 256)) * 50)
    assert isinstance(middleware().process_response(garbage.request, garbage).text, str)
