from datetime import UTC, datetime

import pytest

from cleaners import REGISTRY, CleanContext, CleanError
from cleaners.dates import date

# 2024-03-10 12:00 in Beijing, 04:00 UTC.
CRAWL = CleanContext(crawl_time=datetime(2024, 3, 10, 4, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("2024年3月5日", {}, "2024-03-05T00:00:00"),
        ("2024年3月5日 14:30", {}, "2024-03-05T14:30:00"),
        ("2024-03-05", {}, "2024-03-05T00:00:00"),
        ("2024-03-05T10:00:00+08:00", {}, "2024-03-05T10:00:00+08:00"),
        ("Mar 5, 2024", {}, "2024-03-05T00:00:00"),
        ("Tue, 05 Mar 2024 10:00:00 GMT", {}, "2024-03-05T10:00:00+00:00"),
        ("05/03/2024", {"date_order": "DMY"}, "2024-03-05T00:00:00"),
        ("03/05/2024", {"date_order": "MDY"}, "2024-03-05T00:00:00"),
        ("2024年3月5日", {"date_only": True}, "2024-03-05"),
        ("05.03.2024 14h", {"formats": ["%d.%m.%Y %Hh"]}, "2024-03-05T14:00:00"),
        ("2024-03-05 14:00", {"timezone": "Asia/Shanghai"}, "2024-03-05T14:00:00+08:00"),
        ("2024-03-05 14:00", {"timezone": "+05:30"}, "2024-03-05T14:00:00+05:30"),
        ("2024-03-05 14:00", {"timezone": "UTC"}, "2024-03-05T14:00:00+00:00"),
    ],
)
def test_absolute_dates(text, kwargs, expected):
    assert date(text, ctx=CRAWL, **kwargs) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("3天前", {"date_only": True}, "2024-03-07"),
        ("3天前", {}, "2024-03-07T04:00:00"),
        ("3天前", {"timezone": "Asia/Shanghai"}, "2024-03-07T12:00:00+08:00"),
        ("昨天 14:00", {"timezone": "Asia/Shanghai"}, "2024-03-09T14:00:00+08:00"),
        ("前天", {"date_only": True, "timezone": "Asia/Shanghai"}, "2024-03-08"),
        ("5分钟前", {"timezone": "Asia/Shanghai"}, "2024-03-10T11:55:00+08:00"),
        ("刚刚", {"timezone": "Asia/Shanghai"}, "2024-03-10T12:00:00+08:00"),
        ("2 hours ago", {}, "2024-03-10T02:00:00"),
        ("yesterday", {"date_only": True}, "2024-03-09"),
        ("3月5日", {"date_only": True}, "2024-03-05"),  # no year: the last 5 March
        ("12月25日", {"date_only": True}, "2023-12-25"),
        ("12月25日 下午3:05", {}, "2023-12-25T15:05:00"),
        ("2024/3/5 14:05:09", {}, "2024-03-05T14:05:09"),
        ("2024.03.05", {"date_only": True}, "2024-03-05"),
        ("2024年3月5日 14时30分", {}, "2024-03-05T14:30:00"),
        ("２０２４年３月５日", {"date_only": True}, "2024-03-05"),
    ],
)
def test_relative_dates_count_from_the_crawl_time(text, kwargs, expected):
    assert date(text, ctx=CRAWL, **kwargs) == expected


def test_late_evening_utc_is_the_next_day_in_beijing():
    ctx = CleanContext(crawl_time=datetime(2024, 3, 10, 20, 0, tzinfo=UTC))  # 04:00 on the 11th
    assert date("今天", date_only=True, timezone="Asia/Shanghai", ctx=ctx) == "2024-03-11"
    assert date("今天", date_only=True, ctx=ctx) == "2024-03-10"


def test_timestamps():
    assert date(1709600000) == "2024-03-05T00:53:20+00:00"
    assert date("1709600000000", timezone="Asia/Shanghai") == "2024-03-05T08:53:20+08:00"


def test_languages_and_errors():
    assert date("3天前", languages=["zh"], date_only=True, ctx=CRAWL) == "2024-03-07"
    for bad in ["not a date", "", None, "2024年13月5日"]:
        with pytest.raises(CleanError, match="^cannot read a date from"):
            date(bad, languages=["zh", "en"], ctx=CRAWL)


def test_date_in_a_chain_gets_the_context():
    chain = REGISTRY.compile(
        ["strip", {"regex_sub": {"pattern": "^发布于", "repl": ""}},
         {"date": {"timezone": "Asia/Shanghai", "languages": ["zh"]}}]
    )  # fmt: skip
    assert chain(" 发布于3天前 ", CRAWL) == "2024-03-07T12:00:00+08:00"
    assert chain([" 发布于2024年3月1日", None], CRAWL) == ["2024-03-01T00:00:00+08:00", None]
    assert REGISTRY.compile([{"date": "%Y/%m/%d"}])("2024/03/05") == "2024-03-05T00:00:00"
