"""The ``date`` cleaner: absolute, relative and Chinese dates to ISO 8601.

dateparser is imported on first use only: it takes a noticeable time to import and to load its
language data, which a crawl without dates should not pay for.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as fixed_offset
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cleaners.registry import CleanContext, CleanError, cleaner, preview

DATE_ORDERS = ("DMY", "MDY", "YMD", "YDM", "DYM", "MYD")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^\d{10}(?:\d{3})?$")


def _zone(name: str | tzinfo) -> tzinfo:
    """``Asia/Shanghai``, ``UTC``, ``+08:00`` or ``UTC+8`` as a tzinfo; ValueError otherwise."""
    if isinstance(name, tzinfo):
        return name
    text = name.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta >= timedelta(hours=24):
            raise ValueError(f"invalid UTC offset {name!r}")
        return fixed_offset(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name like 'Asia/Shanghai' or an offset "
            "like '+08:00')"
        ) from None


def _prepare_date(kwargs: dict[str, Any]) -> dict[str, Any]:
    formats = kwargs.get("formats")
    if isinstance(formats, str):
        formats = [formats]
    for fmt in formats or ():
        if not isinstance(fmt, str) or "%" not in fmt:
            raise ValueError(f"{fmt!r} is not a strptime format (e.g. '%Y年%m月%d日')")
    if formats is not None:
        kwargs["formats"] = tuple(formats)
    order = kwargs.get("date_order")
    if order is not None and order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}, got {order!r}")
    if kwargs.get("timezone") is not None:
        kwargs["timezone"] = _zone(kwargs["timezone"])
    languages = kwargs.get("languages")
    if languages:
        from dateparser.data.languages_info import language_order

        unknown = [lang for lang in languages if lang not in language_order]
        if unknown:
            raise ValueError(
                f"unknown language(s) {', '.join(map(repr, unknown))} "
                "(use dateparser codes such as 'zh', 'en', 'ja')"
            )
        kwargs["languages"] = tuple(languages)
    return kwargs


_TIME = (
    r"(?:\s*T?\s*(?P<ampm>上午|下午|晚上|凌晨|中午)?\s*(?P<H>\d{1,2})\s*[:时点]\s*"
    r"(?:(?P<M>\d{1,2})\s*分?\s*(?::?\s*(?P<S>\d{1,2})\s*秒?)?)?)?\s*$"
)
# Year first is unambiguous: 2024年3月5日, 2024/3/5, 2024.03.05 14:30.
_CJK_YMD = re.compile(
    r"^(?P<y>\d{4})\s*[年/.-]\s*(?P<m>\d{1,2})\s*[月/.-]\s*(?P<d>\d{1,2})\s*日?" + _TIME
)
# No year (3月5日 14:00): the most recent such day. dateparser misreads some of these.
_CJK_MD = re.compile(r"^(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]" + _TIME)


def _cjk_date(text: str, base: datetime) -> datetime | None:
    """Year-first and Chinese month-day dates, read without dateparser (faster, and surer)."""
    text = unicodedata.normalize("NFKC", text)
    match = _CJK_YMD.match(text) or _CJK_MD.match(text)
    if match is None:
        return None
    parts = match.groupdict()
    hour = int(parts["H"] or 0)
    if parts["ampm"] in ("下午", "晚上") and hour < 12 or parts["ampm"] == "中午" and hour < 11:
        hour += 12
    try:
        moment = datetime(
            int(parts.get("y") or base.year),
            int(parts["m"]),
            int(parts["d"]),
            hour,
            int(parts["M"] or 0),
            int(parts["S"] or 0),
        )
    except ValueError as exc:  # 2024年13月5日: no guessing (dateparser would swap day and month)
        raise CleanError(f"cannot read a date from {preview(text)}: {exc}") from None
    if parts.get("y") is None and moment > base:
        moment = moment.replace(year=base.year - 1)
    return moment


def _relative_base(crawl_time: datetime | None, zone: tzinfo | None) -> datetime:
    """The crawl time as a naive time in the site's zone (UTC when it is not known)."""
    base = crawl_time or datetime.now(UTC)
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    return base.astimezone(zone or UTC).replace(tzinfo=None)


def _from_timestamp(seconds: float, zone: tzinfo | None) -> datetime:
    if abs(seconds) >= 1e11:  # milliseconds, as JavaScript and many JSON APIs give them
        seconds /= 1000
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.astimezone(zone) if zone else moment


def _parse(
    text: str,
    formats: tuple[str, ...],
    languages: tuple[str, ...] | None,
    date_order: str | None,
    zone: tzinfo | None,
    crawl_time: datetime | None,
) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)  # the common case, without dateparser's cost
    except ValueError:
        pass
    if _TIMESTAMP.match(text):
        return _from_timestamp(int(text), zone)
    # Relative dates ("3天前", "昨天 14:00") count from the crawl time, seen in the site's zone.
    base = _relative_base(crawl_time, zone)
    if date_order in (None, "YMD"):
        moment = _cjk_date(text, base)
        if moment is not None:
            return moment

    import dateparser

    settings: dict[str, Any] = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
    }
    if date_order:
        settings["DATE_ORDER"] = date_order
    return dateparser.parse(
        text, languages=list(languages) if languages else None, settings=settings
    )


@cleaner("date", prepare=_prepare_date)
def date(
    value: Any,
    *,
    formats: list[str] | str | None = None,
    languages: list[str] | None = None,
    date_order: str | None = None,
    date_only: bool = False,
    timezone: str | None = None,
    ctx: CleanContext | None = None,
) -> str:
    """A date or date-time in ISO 8601 (``2024-03-05T14:30:00``; ``2024-03-05`` with ``date_only``).

    Tries the strptime ``formats`` first, then ISO 8601, then dateparser, which reads absolute
    dates in many languages (``2024年3月5日``, ``Mar 5, 2024``, ``05/03/2024`` with
    ``date_order: DMY``) and relative ones (``3天前``, ``昨天 14:00``, ``2 hours ago``), counted
    from ``ctx.crawl_time`` (now when there is none). ``languages`` (dateparser codes such as
    ``zh``, ``en``) makes parsing faster and surer. Numbers and 10/13-digit strings are Unix
    timestamps (seconds or milliseconds).

    ``timezone`` (``Asia/Shanghai``, ``+08:00``) is the zone of times written without one: the
    result then carries its offset, and relative dates are counted in that zone. Without it,
    such times stay without offset and relative dates are counted in UTC.

    >>> date("2024年3月5日 14:30")
    '2024-03-05T14:30:00'
    >>> crawl = CleanContext(crawl_time=datetime(2024, 3, 10, 6, 0, tzinfo=UTC))
    >>> date("3天前", date_only=True, ctx=crawl)
    '2024-03-07'
    >>> date("昨天 14:00", timezone="Asia/Shanghai", ctx=crawl)
    '2024-03-09T14:00:00+08:00'
    >>> date("05/03/2024", date_order="DMY", date_only=True)
    '2024-03-05'
    """
    zone = _zone(timezone) if timezone is not None else None
    crawl_time = ctx.crawl_time if ctx is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        moment: datetime | None = _from_timestamp(value, zone)
    elif isinstance(value, str) and value.strip():
        if isinstance(formats, str):
            formats = [formats]
        moment = _parse(
            value.strip(),
            tuple(formats or ()),
            tuple(languages) if languages else None,
            date_order,
            zone,
            crawl_time,
        )
    else:
        moment = None
    if moment is None:
        raise CleanError(f"cannot read a date from {preview(value)}")
    if moment.tzinfo is None and zone is not None:
        moment = moment.replace(tzinfo=zone)
    return moment.date().isoformat() if date_only else moment.isoformat()
