import pytest

from cleaners import REGISTRY, CleanContext, CleanError
from cleaners.lists import compact, default, first, join, last, map_, split, unique
from cleaners.urls import absolute_url

PAGE = CleanContext(url="https://books.example/catalogue/page-2.html")


def test_absolute_url():
    assert (
        absolute_url("book_1/index.html", ctx=PAGE)
        == "https://books.example/catalogue/book_1/index.html"
    )
    assert absolute_url("/media/a.jpg", ctx=PAGE) == "https://books.example/media/a.jpg"
    assert absolute_url("?page=3", ctx=PAGE) == "https://books.example/catalogue/page-2.html?page=3"
    assert absolute_url("mailto:a@b.example", ctx=PAGE) == "mailto:a@b.example"
    assert absolute_url("https://x.example/a") == "https://x.example/a"


def test_absolute_url_without_page_url():
    with pytest.raises(
        CleanError, match=r"^cannot make 'a\.html' absolute: no page URL in the context$"
    ):
        absolute_url("a.html")


def test_absolute_url_in_chain_on_lists():
    chain = REGISTRY.compile(["absolute_url", "unique"])
    assert chain(["a.jpg", "/b.jpg", "a.jpg"], PAGE) == [
        "https://books.example/catalogue/a.jpg",
        "https://books.example/b.jpg",
    ]


def test_map():
    table = {"In stock": True, "Out of stock": False}
    assert map_("In stock", table=table) is True
    assert map_("Unknown", table=table) == "Unknown"
    assert map_("Unknown", table=table, default=None) is None
    chain = REGISTRY.compile([{"map": {1: "one", "2": "two"}}])
    assert chain(["1", 1, 2, "3"]) == ["one", "one", "two", "3"]  # keys match as text too
    assert REGISTRY.compile([{"map": {"table": {"a": "b"}, "default": "?"}}])(["a", "c"]) == [
        "b",
        "?",
    ]


def test_default():
    assert default(None, value=0) == 0
    assert default("", value="n/a") == "n/a"
    assert default([], value="n/a") == "n/a"
    assert default(0, value=5) == 0
    assert default(False, value=True) is False
    assert default([None], value="x") == [None]


def test_join_split():
    assert join(["a", "b"]) == "a b"
    assert join(None) is None
    assert split("a|b|c", sep="|", maxsplit=1) == ["a", "b|c"]
    assert split(None) is None
    assert split(5) == 5


def test_first_last_unique_compact():
    assert first(["", None, 0, 1]) == 0
    assert first(None) is None
    assert last(["a", ""]) == "a"
    assert unique([1, "1", 1, None, None]) == [1, "1", None]
    assert compact([0, "", None, False, []]) == [0, False]


def test_list_chain_end_to_end():
    chain = REGISTRY.compile(
        [{"split": "/"}, "strip", "compact", "unique", {"join": ", "}, {"default": "none"}]
    )
    assert chain("fiction / poetry /  / fiction") == "fiction, poetry"
    assert chain(" / ") == "none"
    assert chain(None) == "none"
