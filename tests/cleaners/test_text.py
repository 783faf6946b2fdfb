import pytest

from cleaners import REGISTRY
from cleaners.text import (
    collapse_whitespace,
    lower,
    nfkc,
    regex,
    regex_sub,
    remove_tags,
    replace,
    strip,
    to_halfwidth,
    truncate,
    unescape,
    upper,
)


def test_strip():
    assert strip("\u3000\xa0 title \n") == "title"
    assert strip("**x**", chars="*") == "x"
    assert strip(5) == 5


def test_collapse_whitespace_handles_unicode_spaces():
    assert collapse_whitespace("  a\u3000\u3000b\xa0\xa0c\t\r\nd\u2003e  ") == "a b c d e"
    assert collapse_whitespace("") == ""


def test_remove_tags_and_unescape():
    assert remove_tags('<div class="x">A <br/>b<script>x</script></div>') == "A bx"
    assert remove_tags("<p>a <em>b</em></p>", keep=["em"]) == "a <em>b</em>"
    assert unescape("&lt;b&gt; &amp; &#x4e2d;&#25991; &nbsp;") == "<b> & 中文 \xa0"


def test_case():
    assert lower("ÀB") == "àb" and upper("àb") == "ÀB"


def test_replace():
    assert replace("a-b-c", old="-", new="/") == "a/b/c"
    assert REGISTRY.compile([{"replace": {"old": "元", "new": ""}}, "strip"])("99 元") == "99"


def test_regex_sub():
    assert regex_sub("a1b22c", pattern=r"\d+") == "abc"
    assert regex_sub("a1b22c", pattern=r"\d+", repl="#", count=1) == "a#b22c"


def test_regex_extract():
    assert regex("ID: 42-7", pattern=r"(\d+)-(\d+)") == "42"
    assert regex("ID: 42-7", pattern=r"(\d+)-(\d+)", group=2) == "7"
    assert regex("ID: 42", pattern=r"ID: (?P<id>\d+)", group="id") == "42"
    assert regex("ID: 42", pattern=r"\d+") == "42"
    assert regex("nothing", pattern=r"(\d+)") is None
    chain = REGISTRY.compile([{"regex": {"pattern": r"(\d+)-(\d+)", "group": 0}}])
    assert chain(["1-2", "x"]) == ["1-2", None]


def test_to_halfwidth():
    assert to_halfwidth("ＨＥＬＬＯ　ｗｏｒｌｄ！１２３") == "HELLO world!123"
    assert to_halfwidth("（约）：５０％，【新】「好」。") == '(约):50%,[新]"好".'
    assert to_halfwidth("￥１２８") == "¥128"
    assert to_halfwidth("中文不变") == "中文不变"


def test_nfkc():
    assert nfkc("Ｔｅｌ：①２３") == "Tel:123"
    assert nfkc("ﬁ") == "fi"


def test_truncate():
    assert truncate("abcdef", length=3) == "abc"
    assert truncate("abcdef", length=4, suffix="...") == "a..."
    assert truncate("abc", length=3, suffix="...") == "abc"


def test_to_str():
    assert REGISTRY.compile(["to_str"])([1, 2.5, False, None, "x"]) == [
        "1",
        "2.5",
        "false",
        None,
        "x",
    ]


@pytest.mark.parametrize(
    ("chain", "value", "expected"),
    [
        (["to_halfwidth", "collapse_whitespace"], "　ＩＳＢＮ：　９７８　", "ISBN: 978"),
        (
            ["remove_tags", "unescape", "collapse_whitespace"],
            "<p>Tom&nbsp;&amp;\nJerry</p>",
            "Tom & Jerry",
        ),
        (["nfkc", "to_int"], "１，２３４件", 1234),
    ],
)
def test_typical_text_chains(chain, value, expected):
    assert REGISTRY.compile(chain)(value) == expected
