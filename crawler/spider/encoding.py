"""Response encodings the web gets wrong: a forced encoding from the rule, and detection for
pages that declare none and are not UTF-8 (a GBK page with no charset anywhere).

Scrapy trusts the Content-Type header, a BOM and <meta charset>; when none is present it tries
UTF-8 and then charset-normalizer's statistical guess, which is unreliable on short pages: a
GB18030 page with a few dozen Chinese characters comes out as cp949 or Shift_JIS. The page's own
language (``<html lang>`` or ``Content-Language``) is a far better hint: for a CJK language the
encodings of that language are tried first, strictly, before any statistics.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from scrapy.http import TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# A detector that says "gb2312" or "gbk" has seen a subset of GB18030; decoding with the
# superset never loses a character the subsets have.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}


def declared_encoding(response: TextResponse) -> str | None:
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
    return (
        http_content_type_encoding(content_type)
        or (read_bom(response.body)[0])
        or html_body_declared_encoding(response.body)
    )


# The legacy encodings of each CJK language, most common first.
_LANGUAGE_ENCODINGS = {
    "zh-tw": ("big5hkscs", "gb18030"),
    "zh-hk": ("big5hkscs", "gb18030"),
    "zh-hant": ("big5hkscs", "gb18030"),
    "zh": ("gb18030", "big5hkscs"),
    "ja": ("cp932", "euc_jp"),
    "ko": ("cp949",),
}
_LANG = re.compile(
    rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3}(?:-[A-Za-z]{2,4})?)", re.IGNORECASE
)


def page_language(body: bytes, content_language: str = "") -> str:
    match = _LANG.search(body[:4096])
    lang = match.group(1).decode("ascii") if match else content_language.split(",")[0]
    return lang.strip().lower()


def _language_encodings(lang: str) -> tuple[str, ...]:
    for prefix in (lang, lang.split("-")[0]):
        if prefix in _LANGUAGE_ENCODINGS:
            return _LANGUAGE_ENCODINGS[prefix]
    return ()


def detect_encoding(body: bytes, lang: str = "") -> str | None:
    """UTF-8 if the body is valid UTF-8; else the first encoding of the page's language that
    decodes it strictly; else charset-normalizer's best guess (or None).

    >>> detect_encoding("城市书展".encode("gb18030"), "zh-CN")
    'gb18030'
    """
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _language_encodings(lang):
        try:
            body.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(body[:200_000]).best()
    if best is None:
        return None
    name = codecs.lookup(best.encoding).name.replace("-", "_")
    return _SUPERSETS.get(name, best.encoding)


class EncodingMiddleware:
    """Settings: ``RESPONSE_ENCODING`` forces an encoding (a rule's ``encoding:`` sets it);
    ``RESPONSE_ENCODING_DETECT`` (default True) detects undeclared non-UTF-8 encodings."""

    def __init__(self, forced: str | None, detect: bool, stats=None):
        self.forced = forced
        self.detect = detect
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(
            s.get("RESPONSE_ENCODING") or None,
            s.getbool("RESPONSE_ENCODING_DETECT"),
            crawler.stats,
        )

    def process_response(self, request, response, spider=None):
        if not isinstance(response, TextResponse) or not response.body:
            return response
        if self.forced:
            return response.replace(encoding=self.forced)
        if not self.detect or declared_encoding(response):
            return response
        content_language = response.headers.get(b"Content-Language", b"").decode("latin-1")
        encoding = detect_encoding(response.body, page_language(response.body, content_language))
        if encoding is None or encoding == "utf-8":
            return response
        if self.stats is not None:
            self.stats.inc_value(f"encoding/detected/{encoding}")
        return response.replace(encoding=encoding)
