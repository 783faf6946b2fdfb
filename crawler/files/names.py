"""A file's name: from its Content-Disposition, else its URL's last path segment; sanitised so
that it can name a download anywhere (no directories, no control or reserved characters, no
leading dots, bounded).

>>> sanitise_name("../../etc/passwd"), sanitise_name("a\\\\b:c?.pdf"), sanitise_name("  ")
('passwd', 'b_c_.pdf', 'file')
>>> name_from(b'attachment; filename="Q3 report.pdf"', "https://x.org/get?id=1")
'Q3 report.pdf'
>>> name_from(b"attachment; filename=a.docx; filename*=UTF-8''%E5%85%AC.docx", "https://x.org/")
'公.docx'
>>> name_from(None, "https://x.org/files/%E5%85%AC%E5%91%8A.docx?v=2")
'公告.docx'
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import unquote, urlsplit

MAX_NAME = 120  # characters
_RESERVED = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")


def sanitise_name(name: str, fallback: str = "file") -> str:
    """A safe file name: the last part of any path, reserved and control characters replaced,
    whitespace collapsed, no leading dots, at most :data:`MAX_NAME` characters (the extension
    kept)."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _RESERVED.sub("_", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME].rstrip()
    return name or fallback


def disposition_name(header: bytes | str | None) -> str | None:
    """The file name a Content-Disposition header gives (``filename*`` first), or None."""
    if not header:
        return None
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    message = Message()
    message["content-disposition"] = text[:2000]
    names = [v for k, v in message.get_params([], header="content-disposition") if k == "filename"]
    if not names:
        return None
    # filename* (RFC 5987: charset and percent-encoded bytes) wins over a plain filename
    encoded = [v for v in names if isinstance(v, tuple)]
    name = collapse_rfc2231_value(encoded[0] if encoded else names[0])
    if isinstance(header, bytes) and "filename*" not in text.lower():
        # servers send UTF-8 bytes in a plain filename= more often than not
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("latin-1").decode("utf-8")
    return name


def url_name(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return unquote(path.rstrip("/").rpartition("/")[2], errors="replace")


def name_from(disposition: bytes | str | None, url: str) -> str:
    """The sanitised name of a file fetched from ``url`` with this Content-Disposition."""
    return sanitise_name(disposition_name(disposition) or url_name(url))
