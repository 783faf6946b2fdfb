"""Numeric cleaners: numbers (with thousands separators and Chinese units), prices, booleans."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from cleaners.registry import CleanError, cleaner, preview

_UNITS = {
    "万亿": Decimal(10) ** 12,
    "亿": Decimal(10) ** 8,
    "万": Decimal(10) ** 4,
    "千": Decimal(10) ** 3,
    "百": Decimal(100),
    "k": Decimal(10) ** 3,
    "K": Decimal(10) ** 3,
    "m": Decimal(10) ** 6,
    "M": Decimal(10) ** 6,
}

_SIGNS = {"-": -1, "−": -1, "+": 1}  # "−" is U+2212, the typographic minus


def _number_pattern(decimal_separator: str) -> re.Pattern[str]:
    thousands = "," if decimal_separator == "." else "."
    dec = re.escape(decimal_separator)
    # Groups of three after a separator: "1,234", "1 234" (also nbsp and thin spaces).
    return re.compile(
        rf"""
        (?P<sign>[-−+])?
        (?P<int>\d{{1,3}}(?:(?P<sep>[{re.escape(thousands)}\u0020\u00a0\u202f\u2009'])\d{{3}}
                          (?:(?P=sep)\d{{3}})*)(?!\d)
              |\d+)?
        (?:{dec}(?P<frac>\d+))?
        (?:\s*(?P<unit>万亿|亿|万|千|百|[kKmM](?![A-Za-z])))?
        (?:\s*(?P<percent>%|％))?
        """,
        re.VERBOSE,
    )


_PATTERNS = {sep: _number_pattern(sep) for sep in ".,"}


def parse_number(text: str, *, decimal_separator: str = ".", percent: bool = False) -> Decimal:
    """The first number in ``text`` as a Decimal; ``CleanError`` when there is none.

    >>> parse_number("1.2万"), parse_number("-1 234,5", decimal_separator=",")
    (Decimal('12000.0'), Decimal('-1234.5'))
    """
    normal = unicodedata.normalize("NFKC", text)  # full-width digits and signs
    for match in _PATTERNS[decimal_separator].finditer(normal):
        if match.group("int") is None and match.group("frac") is None:
            continue
        digits = (match.group("int") or "0").translate(
            {ord(c): None for c in ",. \xa0\u202f\u2009'"}
        )
        try:
            number = Decimal(f"{digits}.{match.group('frac') or '0'}")
        except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
            continue
        if match.group("sign"):
            number *= _SIGNS[match.group("sign")]
        if match.group("unit"):
            number *= _UNITS[match.group("unit")]
        if percent and match.group("percent"):
            number /= 100
        return number
    raise CleanError(f"cannot read a number from {preview(text)}")


def _check_separator(kwargs: dict[str, Any]) -> dict[str, Any]:
    sep = kwargs.get("decimal_separator")
    if sep is not None and sep not in (".", ","):
        raise ValueError(f"decimal_separator must be '.' or ',', got {sep!r}")
    return kwargs


def _as_decimal(value: Any, decimal_separator: str, percent: bool = False) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | float):
        number = Decimal(str(value))
        if not number.is_finite():
            raise CleanError(f"not a finite number: {preview(value)}")
        return number
    if isinstance(value, str):
        return parse_number(value, decimal_separator=decimal_separator, percent=percent)
    raise CleanError(f"cannot read a number from {preview(value)}")


def _int_or_float(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


@cleaner("to_number", prepare=_check_separator)
def to_number(value: Any, *, decimal_separator: str = ".", percent: bool = False) -> int | float:
    """The first number in the text, as an int when it is whole, else a float.

    Understands signs, thousands separators (``1,234``, ``1 234``), full-width digits and the
    units 万 亿 千 百 k K m M. A percent sign is ignored, or divides by 100 with ``percent``.
    Use ``decimal_separator=','`` for ``1.234,5``.

    >>> to_number("1,234"), to_number("1.2万"), to_number("3亿"), to_number("2.5k")
    (1234, 12000, 300000000, 2500)
    >>> to_number("-0.5 %"), to_number("12.5%", percent=True), to_number("１２３")
    (-0.5, 0.125, 123)
    >>> to_number("abc")
    Traceback (most recent call last):
    ...
    cleaners.registry.CleanError: cannot read a number from 'abc'
    """
    return _int_or_float(_as_decimal(value, decimal_separator, percent))


@cleaner("to_int", prepare=_check_separator)
def to_int(value: Any, *, decimal_separator: str = ".") -> int:
    """A whole number, read like :func:`to_number`; ``CleanError`` if it has a fraction.

    >>> to_int("1,234 reviews"), to_int("3.0"), to_int("1.5万")
    (1234, 3, 15000)
    >>> to_int("4.5")
    Traceback (most recent call last):
    ...
    cleaners.registry.CleanError: not a whole number: '4.5'
    """
    number = _as_decimal(value, decimal_separator)
    if number != number.to_integral_value():
        raise CleanError(f"not a whole number: {preview(value)}")
    return int(number)


@cleaner("to_float", prepare=_check_separator)
def to_float(value: Any, *, decimal_separator: str = ".") -> float:
    """A float, read like :func:`to_number`.

    >>> to_float("£51.77"), to_float("3")
    (51.77, 3.0)
    """
    return float(_as_decimal(value, decimal_separator))


def _check_price(kwargs: dict[str, Any]) -> dict[str, Any]:
    if kwargs.get("field", "amount") not in ("amount", "currency"):
        raise ValueError(f"field must be 'amount' or 'currency', got {kwargs['field']!r}")
    return _check_separator(kwargs)


@cleaner("price", prepare=_check_price)
def price(value: Any, *, field: str = "amount", decimal_separator: str | None = None) -> Any:
    """The amount (a float) or the currency (as written: ``£``, ``USD``, ``¥``) of a price.

    Uses price-parser; ``decimal_separator`` (``.`` or ``,``) overrides its guess. A price
    without a currency gives None for ``field='currency'``; one without an amount is an error
    (``free`` reads as 0).

    >>> price("£1,299.50"), price("£1,299.50", field="currency")
    (1299.5, '£')
    >>> price("12,50 €", decimal_separator=",")
    12.5
    """
    from price_parser import Price

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if field == "amount" else None
    if not isinstance(value, str):
        raise CleanError(f"cannot read a price from {preview(value)}")
    parsed = Price.fromstring(value, decimal_separator=decimal_separator)
    if field == "currency":
        return parsed.currency
    if parsed.amount is None:
        raise CleanError(f"cannot read a price from {preview(value)}")
    return float(parsed.amount)


_TRUE = frozenset(["true", "yes", "y", "1", "on", "t", "是", "有", "对", "真", "√", "✓", "✔"])
_FALSE = frozenset(
    ["false", "no", "n", "0", "off", "f", "否", "无", "没有", "不", "错", "假", "×", "✗", "✘"]
) | {""}


@cleaner("to_bool")
def to_bool(value: Any) -> bool:
    """A boolean from yes/no text (English or Chinese: 是/否, 有/无) or a number.

    >>> to_bool("Yes"), to_bool("否"), to_bool(0), to_bool(" true ")
    (True, False, False, True)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise CleanError(f"cannot read true or false from {preview(value)}")
