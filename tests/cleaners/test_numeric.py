import pytest

from cleaners import REGISTRY, CleanError
from cleaners.numeric import price, to_bool, to_float, to_int, to_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234", 1234),
        ("1 234", 1234),
        ("1\xa0234\xa0567", 1234567),
        ("12,345,678.90", 12345678.9),
        ("-42", -42),
        ("−3.5", -3.5),
        ("+7", 7),
        (".5", 0.5),
        ("共 128 条评论", 128),
        ("1.2万", 12000),
        ("1.2 万", 12000),
        ("3亿", 300000000),
        ("1.5万亿", 1500000000000),
        ("5千", 5000),
        ("3百", 300),
        ("2.5k", 2500),
        ("10K views", 10000),
        ("1.5M", 1500000),
        ("2m", 2000000),
        ("5 min", 5),  # a unit letter followed by letters is a word, not a unit
        ("12.5%", 12.5),
        ("１２３", 123),
        ("－５", -5),
        ("3.0", 3),
        ("0.1", 0.1),
        ("version 2", 2),
    ],
)
def test_to_number(text, expected):
    result = to_number(text)
    assert result == expected
    assert type(result) is type(expected)


def test_to_number_options():
    assert to_number("12.5%", percent=True) == 0.125
    assert to_number("50 ％", percent=True) == 0.5
    assert to_number("1.234,5", decimal_separator=",") == 1234.5
    assert to_number("1 234,5", decimal_separator=",") == 1234.5
    assert to_number(7) == 7 and to_number(2.0) == 2 and type(to_number(2.0)) is int


@pytest.mark.parametrize("bad", ["abc", "", "万", "-", "."])
def test_to_number_without_digits_is_an_error(bad):
    with pytest.raises(CleanError, match="cannot read a number from"):
        to_number(bad)


def test_to_int_and_to_float():
    assert to_int("1,234 reviews") == 1234
    assert to_int("2.5万") == 25000
    assert to_int(3.0) == 3
    assert to_float("1,234") == 1234.0 and type(to_float("1")) is float
    with pytest.raises(CleanError, match=r"^not a whole number: '4\.5'$"):
        to_int("4.5")
    with pytest.raises(CleanError, match=r"^cannot read a number from 'n/a'$"):
        to_float("n/a")


def test_price():
    assert price("£51.77") == 51.77
    assert price("£51.77", field="currency") == "£"
    assert price("¥1,299.00") == 1299.0
    assert price("RMB 100", field="currency") == "RMB"
    assert price("99元", field="currency") is None
    assert price("1.299,00 €", decimal_separator=",") == 1299.0
    assert price(12) == 12.0
    assert price("Free") == 0.0  # price-parser's reading
    with pytest.raises(CleanError, match=r"^cannot read a price from 'call us'$"):
        price("call us")


def test_price_in_chains():
    assert REGISTRY.compile([{"price": {"field": "currency"}}])(["$1", "€2"]) == ["$", "€"]
    assert REGISTRY.compile([{"price": "currency"}])("£3") == "£"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("TRUE", True), ("1", True), ("是", True), ("有", True), ("✓", True),
     ("no", False), ("0", False), ("否", False), ("无", False), ("", False), (0, False),
     (2, True), (True, True)],
)  # fmt: skip
def test_to_bool(value, expected):
    assert to_bool(value) is expected


def test_to_bool_error():
    with pytest.raises(CleanError, match=r"^cannot read true or false from 'maybe'$"):
        to_bool("maybe")
