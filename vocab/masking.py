"""Masking of credentials in URLs, for everything a person or another system may read.

A password may hold any character (``/ @ : % # ?``, spaces, unicode), encoded or not, so the
user-info part is not found by splitting at the first ``/`` or ``@``: for every ``scheme://``
in the text, everything up to the *last* ``@`` that is followed by a host (and before the next
``scheme://``) is masked. Masking too much is safe; masking too little is not.

>>> mask_url("http://u:p@h:1/x")
'http://***@h:1/x'
>>> mask_url("redis://127.0.0.1:6379/0")
'redis://127.0.0.1:6379/0'
>>> mask_url("http://bob:a/b@c:d%e#f?g h@10.0.0.1:3128 failed")
'http://***@10.0.0.1:3128 failed'
>>> mask_url("proxies http://a:b@h1:1, socks5://c:d%40e@[::1]:2")
'proxies http://***@h1:1, socks5://***@[::1]:2'
>>> mask_url("mysql://u:pw@h:port/db was refused")
'mysql://***@h:port/db was refused'
>>> mask_url("bob:pa/ss@10.0.0.1:80")
'***@10.0.0.1:80'
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://")
# a host after the '@': an IPv6 literal or a name/IPv4, an optional port, then an end of URL
_HOST_AFTER_AT = re.compile(
    r"@(?:\[[0-9A-Fa-f:.]+\]|[\w.-]+)(?::\d{1,5})?(?=$|[/?#\s,;'\")\]>}])", re.UNICODE
)


def _mask_window(window: str) -> tuple[str, bool]:
    """Mask user info at the start of ``window`` (the text right after ``scheme://``)."""
    last = None
    for m in _HOST_AFTER_AT.finditer(window):
        last = m
    if last is None:
        # no host after any '@' (a port that is not a number: "h:port"): mask up to the last
        # '@' of the URL all the same, the URL ending at the first space
        token = window.split(None, 1)[0] if window.strip() else ""
        at = token.rfind("@")
        if at < 0:
            return window, False
        return "***" + window[at:], True
    return "***" + window[last.start() :], True


def mask_url(text: str) -> str:
    """Mask credentials in any URL-like string: ``http://u:p@h:1`` -> ``http://***@h:1``."""
    if "@" not in text:
        return text
    starts = list(_SCHEME.finditer(text))
    if not starts:
        # a bare ``user:pass@host:port`` (a proxy written without its scheme)
        return _mask_window(text)[0]
    out = [text[: starts[0].end()]]
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        window = text[m.end() : end]
        masked, _ = _mask_window(window)
        out.append(masked)
        if i + 1 < len(starts):
            out.append(text[starts[i + 1].start() : starts[i + 1].end()])
    return "".join(out)
