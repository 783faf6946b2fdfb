"""Response encodings the web gets wrong: a forced encoding from the rule, and detection for
pages that declare none and are not UTF-8 (a GBK page with no charset anywhere).

Scrapy trusts the Content-Type header, a BOM and <meta charset>; when none is present it tries
UTF-8 and falls back to cp1252, which turns GBK/GB18030, Shift_JIS or Big5 text into mojibake.
"""

from __future__ import annotations

import codecs

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


def detect_encoding(body: bytes) -> str | None:
    """UTF-8 if the body is valid UTF-8, else charset-normalizer's best guess (or None)."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
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
            s.getbool("RESPONSE_ENCODING_DETECT", True),
            crawler.stats,
        )

    def process_response(self, request, response, spider=None):
        if not isinstance(response, TextResponse) or not response.body:
            return response
        if self.forced:
            return response.replace(encoding=self.forced)
        if not self.detect or declared_encoding(response):
            return response
        encoding = detect_encoding(response.body)
        if encoding is None or encoding == "utf-8":
            return response
        if self.stats is not None:
            self.stats.inc_value(f"encoding/detected/{encoding}")
        return response.replace(encoding=encoding)
