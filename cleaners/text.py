"""Text cleaners: whitespace, markup, case, width, replacements and regular expressions.

Text cleaners leave values that are not strings (numbers, booleans) unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from w3lib.html import remove_tags as _w3lib_remove_tags
from w3lib.html import replace_entities

from cleaners.registry import cleaner


def _compile_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _prepare_regex_sub(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs["pattern"] = _compile_pattern(kwargs["pattern"])
    return kwargs


def _prepare_regex(kwargs: dict[str, Any]) -> dict[str, Any]:
    pattern = kwargs["pattern"] = _compile_pattern(kwargs["pattern"])
    group = kwargs.get("group")
    if isinstance(group, int) and not 0 <= group <= pattern.groups:
        raise ValueError(
            f"group {group} does not exist in {pattern.pattern!r} "
            f"(it has {pattern.groups} group{'s' if pattern.groups != 1 else ''})"
        )
    if isinstance(group, str) and group not in pattern.groupindex:
        names = ", ".join(pattern.groupindex) or "none"
        raise ValueError(
            f"group {group!r} does not exist in {pattern.pattern!r} (named groups: {names})"
        )
    return kwargs


@cleaner("strip")
def strip(value: Any, *, chars: str | None = None) -> Any:
    """Remove leading and trailing whitespace (any Unicode space), or the given ``chars``.

    >>> strip("\\u3000 Hello\\xa0 ")
    'Hello'
    >>> strip("--x--", chars="-")
    'x'
    """
    return value.strip(chars) if isinstance(value, str) else value


@cleaner("collapse_whitespace")
def collapse_whitespace(value: Any) -> Any:
    """Turn every run of whitespace (tabs, newlines, nbsp, ideographic space) into one space, strip.

    >>> collapse_whitespace(" a \\n\\t b\\u3000\\u3000c\\xa0 ")
    'a b c'
    """
    return " ".join(value.split()) if isinstance(value, str) else value


@cleaner("remove_tags")
def remove_tags(value: Any, *, keep: list[str] | None = None) -> Any:
    """Remove HTML tags (keeping their text), except the tags listed in ``keep``.

    >>> remove_tags("<p>Hello <b>world</b></p>")
    'Hello world'
    >>> remove_tags("<p>Hello <b>world</b></p>", keep=["b"])
    'Hello <b>world</b>'
    """
    if not isinstance(value, str):
        return value
    return _w3lib_remove_tags(value, keep=tuple(keep or ()))


@cleaner("unescape")
def unescape(value: Any) -> Any:
    """Replace HTML entities (``&amp;``, ``&#39;``, ``&nbsp;``) with the characters they stand for.

    >>> unescape("Tom &amp; Jerry&#39;s &lt;3")
    "Tom & Jerry's <3"
    """
    return replace_entities(value) if isinstance(value, str) else value


@cleaner("lower")
def lower(value: Any) -> Any:
    """Lower-case.

    >>> lower("GBP")
    'gbp'
    """
    return value.lower() if isinstance(value, str) else value


@cleaner("upper")
def upper(value: Any) -> Any:
    """Upper-case.

    >>> upper("gbp")
    'GBP'
    """
    return value.upper() if isinstance(value, str) else value


@cleaner("replace")
def replace(value: Any, *, old: str, new: str) -> Any:
    """Replace every occurrence of ``old`` with ``new`` (plain text, not a regular expression).

    >>> replace("1,299 元", old="元", new="")
    '1,299 '
    """
    return value.replace(old, new) if isinstance(value, str) else value


@cleaner("regex_sub", prepare=_prepare_regex_sub)
def regex_sub(value: Any, *, pattern: str | re.Pattern[str], repl: str = "", count: int = 0) -> Any:
    """Replace matches of ``pattern`` with ``repl`` (``\\1`` refers to a group); ``count=0``: all.

    >>> regex_sub("Widget (blue)", pattern=r"\\s*\\(.*\\)")
    'Widget'
    >>> regex_sub("2024/03/05", pattern=r"(\\d+)/(\\d+)/(\\d+)", repl=r"\\1-\\2-\\3")
    '2024-03-05'
    """
    if not isinstance(value, str):
        return value
    return _compile_pattern(pattern).sub(repl, value, count=count)


@cleaner("regex", prepare=_prepare_regex)
def regex(value: Any, *, pattern: str | re.Pattern[str], group: int | str | None = None) -> Any:
    """Extract the first match of ``pattern``: group 1 if it has groups, else the whole match.

    ``group`` picks another group (a number or a name); no match gives None.

    >>> regex("共 42 件", pattern=r"(\\d+)\\s*件")
    '42'
    >>> regex("SKU: AB-12", pattern=r"[A-Z]+-\\d+")
    'AB-12'
    >>> regex("no digits", pattern=r"\\d+") is None
    True
    """
    if not isinstance(value, str):
        return value
    compiled = _compile_pattern(pattern)
    match = compiled.search(value)
    if match is None:
        return None
    if group is None:
        group = 1 if compiled.groups else 0
    return match.group(group)


# Full-width ASCII (U+FF01..U+FF5E) sits at a fixed offset from ASCII; the others are listed.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH.update(
    str.maketrans(
        "\u3000。、【】〔〕「」『』〈〉《》￠￡￢￣￤￥￦",
        ' .,[]()""""<><>¢£¬¯¦¥₩',
    )
)


@cleaner("to_halfwidth")
def to_halfwidth(value: Any) -> Any:
    """Full-width letters, digits, punctuation and spaces to their half-width (ASCII) forms.

    Also 。、【】〔〕「」『』〈〉《》 and ￥￡ etc.; CJK text itself is untouched.

    >>> to_halfwidth("ＡＢＣ　１２３，（价格）：￥４５。")
    'ABC 123,(价格):¥45.'
    """
    return value.translate(_HALFWIDTH) if isinstance(value, str) else value


@cleaner("nfkc")
def nfkc(value: Any) -> Any:
    """Unicode NFKC normalisation: compatibility forms (full-width, ligatures, ①, ㎏) folded.

    >>> nfkc("ｆｉ① ㎏")
    'fi1 kg'
    """
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


@cleaner("truncate")
def truncate(value: Any, *, length: int, suffix: str = "") -> Any:
    """Cut text to at most ``length`` characters, ``suffix`` included when it is cut.

    >>> truncate("a long description", length=6)
    'a long'
    >>> truncate("a long description", length=7, suffix="…")
    'a long…'
    >>> truncate("short", length=10, suffix="…")
    'short'
    """
    if not isinstance(value, str) or len(value) <= length:
        return value
    return value[: max(length - len(suffix), 0)] + suffix


@cleaner("to_str")
def to_str(value: Any) -> Any:
    """Numbers and booleans to text (``12`` → ``'12'``, ``True`` → ``'true'``); text unchanged.

    >>> to_str(12), to_str(1.5), to_str(True)
    ('12', '1.5', 'true')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
