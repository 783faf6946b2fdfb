"""Masking of credentials in URLs, for everything a person or another system may read.

>>> mask_url("http://u:p@h:1/x")
'http://***@h:1/x'
>>> mask_url("redis://127.0.0.1:6379/0")
'redis://127.0.0.1:6379/0'
"""

from __future__ import annotations


def mask_url(text: str) -> str:
    """Mask credentials in any URL-like string: ``http://u:p@h:1`` -> ``http://***@h:1``."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    if "@" not in rest.split("/", 1)[0]:
        return text
    host = rest.split("@", 1)[1]
    return f"{scheme}{sep}***@{host}"
