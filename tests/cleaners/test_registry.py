import re
import sys

import pytest

from cleaners import REGISTRY, ChainError, CleanContext, CleanError, Registry, load_modules

BUILTINS = {
    "absolute_url", "collapse_whitespace", "compact", "date", "default", "first", "join", "last",
    "lower", "map", "nfkc", "price", "regex", "regex_sub", "remove_tags", "replace", "split",
    "strip", "to_bool", "to_float", "to_halfwidth", "to_int", "to_number", "to_str", "truncate",
    "unescape", "unique", "upper",
}  # fmt: skip


def test_builtins_are_registered_and_documented():
    assert set(REGISTRY.names()) >= BUILTINS
    assert REGISTRY.names() == sorted(REGISTRY.names())
    for name in BUILTINS:
        assert ">>>" in REGISTRY.get(name).doc, name


def test_get_unknown_suggests():
    with pytest.raises(KeyError, match=r"unknown cleaner 'lowr' \(did you mean 'lower'\?\)"):
        REGISTRY.get("lowr")


# -- check: every kind of problem, with its position in the chain ------------------------------


@pytest.mark.parametrize(
    ("spec", "problems"),
    [
        ("strp", [(0, "unknown cleaner 'strp' (did you mean 'strip'?)")]),
        (["strip", "xyzzy"], [(1, "unknown cleaner 'xyzzy'")]),
        (5, [(0, "a cleaner chain is a cleaner name or a list of cleaners, got 5")]),
        (
            ["strip", 3],
            [(1, "expected a cleaner name or a {name: arguments} mapping, got 3")],
        ),
        (
            [{"strip": None, "lower": None}],
            [
                (
                    0,
                    "a cleaner with arguments is a mapping with one key, the cleaner's name "
                    "(e.g. {regex: '\\d+'}); got keys 'strip', 'lower'",
                )
            ],
        ),
        ([{5: 1}], [(0, "a cleaner name must be a string, got 5")]),
        (
            ["strip", {"replace": {"old": "x"}}],
            [(1, "cleaner 'replace': missing required argument 'new'")],
        ),
        ([{"regex": {}}], [(0, "cleaner 'regex': missing required argument 'pattern'")]),
        (
            [{"regex_sub": {"patern": "x", "repl": ""}}],
            [(0, "cleaner 'regex_sub': unexpected argument 'patern' (did you mean 'pattern'?)")],
        ),
        (
            [{"map": {"tabel": {"a": "b"}}}],
            [(0, "cleaner 'map': unexpected argument 'tabel' (did you mean 'table'?)")],
        ),
        (
            [{"default": {"valeu": 0}}],
            [(0, "cleaner 'default': unexpected argument 'valeu' (did you mean 'value'?)")],
        ),
        (
            [{"strip": {"chars": "-", "width": 3}}],
            [(0, "cleaner 'strip': unexpected argument 'width' (arguments: chars)")],
        ),
        (
            [{"lower": {"foo": 1}}],
            [(0, "cleaner 'lower': unexpected argument 'foo' ('lower' takes no arguments)")],
        ),
        ([{"lower": "x"}], [(0, "cleaner 'lower' takes no arguments, got 'x'")]),
        (
            [{"replace": "x"}],
            [
                (
                    0,
                    "cleaner 'replace' takes several arguments (old, new): write them as a "
                    "mapping, e.g. {replace: {old: ..., new: ...}}",
                )
            ],
        ),
        (
            [{"regex_sub": {"pattern": "(", "repl": ""}}],
            [
                (
                    0,
                    "cleaner 'regex_sub': invalid regular expression '(': "
                    "missing ), unterminated subpattern at position 0",
                )
            ],
        ),
        (
            [{"regex": {"pattern": "(a)", "group": 2}}],
            [(0, "cleaner 'regex': group 2 does not exist in '(a)' (it has 1 group)")],
        ),
        (
            [{"regex": {"pattern": "(?P<n>a)", "group": "m"}}],
            [(0, "cleaner 'regex': group 'm' does not exist in '(?P<n>a)' (named groups: n)")],
        ),
        (
            [{"regex_sub": {"pattern": "a", "count": "x"}}],
            [(0, "cleaner 'regex_sub': argument 'count' must be an integer, got 'x'")],
        ),
        (
            [{"truncate": "ten"}],
            [(0, "cleaner 'truncate': argument 'length' must be an integer, got 'ten'")],
        ),
        (
            [{"map": {"table": ["a"]}}],
            [(0, "cleaner 'map': argument 'table' must be a mapping, got ['a']")],
        ),
        (
            [{"date": {"timezone": "Mars/Base"}}],
            [
                (
                    0,
                    "cleaner 'date': unknown timezone 'Mars/Base' (use an IANA name like "
                    "'Asia/Shanghai' or an offset like '+08:00')",
                )
            ],
        ),
        (
            [{"date": {"date_order": "XYZ"}}],
            [
                (
                    0,
                    "cleaner 'date': date_order must be one of DMY, MDY, YMD, YDM, DYM, MYD, "
                    "got 'XYZ'",
                )
            ],
        ),
        (
            [{"date": {"formats": ["Y-m-d"]}}],
            [(0, "cleaner 'date': 'Y-m-d' is not a strptime format (e.g. '%Y年%m月%d日')")],
        ),
        (
            [{"date": {"languages": ["zz"]}}],
            [
                (
                    0,
                    "cleaner 'date': unknown language(s) 'zz' (use dateparser codes such as "
                    "'zh', 'en', 'ja')",
                )
            ],
        ),
        (
            [{"price": "amt"}],
            [(0, "cleaner 'price': field must be 'amount' or 'currency', got 'amt'")],
        ),
        (
            [{"to_number": {"decimal_separator": ";"}}],
            [(0, "cleaner 'to_number': decimal_separator must be '.' or ',', got ';'")],
        ),
        (
            [{"strip": {"ctx": 1}}],
            [(0, "cleaner 'strip': unexpected argument 'ctx' (arguments: chars)")],
        ),
        (
            ["strp", "strip", {"lower": 1}],
            [
                (0, "unknown cleaner 'strp' (did you mean 'strip'?)"),
                (2, "cleaner 'lower' takes no arguments, got 1"),
            ],
        ),
    ],
)
def test_check_reports_problems_with_their_position(spec, problems):
    assert REGISTRY.check(spec) == problems


@pytest.mark.parametrize(
    "spec",
    [
        None,
        [],
        "strip",
        ["strip", "collapse_whitespace", {"regex_sub": {"pattern": r"\s*\(.*\)", "repl": ""}}],
        [{"default": "n/a"}],
        [{"default": {"value": 0}}],
        [{"default": {}}],  # the value {} itself: `default`'s argument takes a mapping
        [{"strip": None}],  # `- strip:` in YAML
        [{"join": ", "}],  # no required argument: the shorthand sets the first one
        [{"split": ","}],
        [{"map": {"男": "M", "女": "F"}}],  # keys are not arguments: the table itself
        [{"map": {"table": {"a": 1}, "default": None}}],
        [{"date": "%Y年%m月%d日"}],
        {"regex": r"\d+"},  # a lone mapping is a one-element chain
    ],
)
def test_check_accepts_valid_chains(spec):
    assert REGISTRY.check(spec) == []
    REGISTRY.compile(spec)


def test_check_never_raises_on_junk():
    for spec in [object(), [[]], [{"strip": object()}], [{None: None}], 1.5, True]:
        assert REGISTRY.check(spec)


# -- compile -----------------------------------------------------------------------------------


def test_compile_raises_all_problems():
    with pytest.raises(ChainError) as info:
        REGISTRY.compile(["strp", {"lower": 1}])
    assert info.value.problems == [
        (0, "unknown cleaner 'strp' (did you mean 'strip'?)"),
        (1, "cleaner 'lower' takes no arguments, got 1"),
    ]
    assert str(info.value) == (
        "[0] unknown cleaner 'strp' (did you mean 'strip'?); "
        "[1] cleaner 'lower' takes no arguments, got 1"
    )
    assert isinstance(info.value, ValueError)


def test_the_brief_example():
    chain = REGISTRY.compile(
        [
            "strip",
            "collapse_whitespace",
            {"regex_sub": {"pattern": r"\s*\(.*\)", "repl": ""}},
            "to_int",
        ]
    )
    assert chain("  1,234 \n (approx.) ") == 1234
    assert chain.names == ["strip", "collapse_whitespace", "regex_sub", "to_int"]
    assert repr(chain) == "Chain(['strip', 'collapse_whitespace', 'regex_sub', 'to_int'])"


def test_empty_chain_is_identity():
    chain = REGISTRY.compile(None)
    assert chain(" x ") == " x "
    assert len(chain) == 0 and chain


def test_compile_once_call_many(monkeypatch):
    compiled = []
    real_compile = re.compile

    def counting_compile(pattern, flags=0):
        compiled.append(pattern)
        return real_compile(pattern, flags)

    monkeypatch.setattr(re, "compile", counting_compile)
    chain = REGISTRY.compile([{"regex": r"(\d+) left"}, "to_int"])
    assert compiled == [r"(\d+) left"]
    assert [chain(f"{i} left") for i in range(1000)] == list(range(1000))
    assert compiled == [r"(\d+) left"]  # the pattern was compiled once, when the chain was


def test_chain_is_fast_enough():
    import time

    chain = REGISTRY.compile(["strip", "collapse_whitespace", {"regex": r"(\d+)"}, "to_int"])
    start = time.perf_counter()
    for _ in range(20_000):
        chain("  price  42 ")
    assert time.perf_counter() - start < 1.0


# -- list and None semantics -------------------------------------------------------------------


def test_element_wise_on_lists_and_none_passes():
    chain = REGISTRY.compile(["strip", "upper"])
    assert chain([" a ", None, "b "]) == ["A", None, "B"]
    assert chain(None) is None
    assert chain([]) == []


def test_whole_list_cleaners_get_the_whole_value():
    assert REGISTRY.compile(["strip", "first"])([None, " ", " a", "b"]) == "a"
    assert REGISTRY.compile(["strip", "unique", {"join": "|"}])(["a ", "b", " a"]) == "a|b"
    assert REGISTRY.compile(["last"])(["a", "b"]) == "b"


def test_default_sees_none_but_other_cleaners_do_not():
    assert REGISTRY.compile(["strip", {"default": "n/a"}])(None) == "n/a"
    assert REGISTRY.compile(["strip", {"default": "n/a"}])("  ") == "n/a"
    assert REGISTRY.compile([{"regex": r"\d+"}, {"default": 0}, "to_int"])("none") == 0
    assert REGISTRY.compile([{"default": "n/a"}])([]) == "n/a"


def test_split_flattens_and_then_cleaners_apply_per_element():
    chain = REGISTRY.compile([{"split": ","}, "strip", "compact", "to_int"])
    assert chain(["1, 2", "3,", None]) == [1, 2, 3]


def test_values_of_other_types_pass_text_cleaners():
    assert REGISTRY.compile(["strip", "lower", "collapse_whitespace"])([3, True, 1.5]) == [
        3,
        True,
        1.5,
    ]


# -- CleanError --------------------------------------------------------------------------------


def test_clean_error_names_cleaner_and_value():
    chain = REGISTRY.compile(["strip", "to_int"])
    with pytest.raises(CleanError) as info:
        chain(" abc ")
    assert str(info.value) == "cleaner 'to_int': cannot read a number from 'abc'"
    assert (info.value.cleaner, info.value.index, info.value.value) == ("to_int", 1, "abc")


def test_clean_error_on_a_list_element_names_the_element():
    with pytest.raises(CleanError, match=r"^cleaner 'to_int': cannot read a number from 'x'$"):
        REGISTRY.compile(["to_int"])(["1", "x"])


def test_clean_error_truncates_long_values():
    with pytest.raises(CleanError) as info:
        REGISTRY.compile(["to_int"])("x" * 500)
    shown = "'" + "x" * 78 + "…"
    assert str(info.value) == f"cleaner 'to_int': cannot read a number from {shown}"


def test_unexpected_exceptions_are_wrapped():
    registry = Registry()

    @registry.register("boom")
    def boom(value):
        return value["missing"]

    with pytest.raises(CleanError) as info:
        registry.compile("boom")({"a": 1})
    assert str(info.value) == "cleaner 'boom' failed on {'a': 1}: KeyError: 'missing'"
    assert isinstance(info.value.__cause__, KeyError)


# -- registering -------------------------------------------------------------------------------


def test_register_as_decorator_and_context():
    registry = Registry()

    @registry.register("tag_page", whole_list=True)
    def tag_page(value, *, label: str = "page", ctx):
        """Pair a value with the page URL."""
        return [label, value, ctx.url]

    assert registry.names() == ["tag_page"]
    chain = registry.compile([{"tag_page": "p"}])
    assert chain(None, CleanContext(url="https://a.example/")) == ["p", None, "https://a.example/"]
    assert chain("x") == ["p", "x", None]  # no context: an empty one
    assert registry.check([{"tag_page": {"ctx": 1}}]) == [
        (0, "cleaner 'tag_page': unexpected argument 'ctx' (arguments: label)")
    ]


def test_register_rejects_bad_signatures_and_names():
    registry = Registry()
    with pytest.raises(TypeError, match="parameter 'n' must be keyword-only"):
        registry.register("bad", lambda value, n: value)
    with pytest.raises(TypeError, match="the first parameter must be the value"):
        registry.register("bad", lambda *, n: n)
    with pytest.raises(ValueError, match="invalid cleaner name 'a-b'"):
        registry.register("a-b", lambda value: value)


def test_register_refuses_to_overwrite_another_function():
    registry = Registry()
    registry.register("same", lambda value: value)
    with pytest.raises(ValueError, match="cleaner 'same' is already registered by"):
        registry.register("same", lambda value: value * 2)


# -- loading project modules -------------------------------------------------------------------


def test_load_modules_registers_project_cleaners():
    load_modules(["tests.cleaners.custom_cleaners"])
    assert "isbn13" in REGISTRY.names()
    chain = REGISTRY.compile(["strip", "isbn13"])
    assert chain(" 978-0-13-468599-1 ") == "9780134685991"
    assert REGISTRY.check([{"isbn13": {"strict": "yes"}}]) == [
        (0, "cleaner 'isbn13': argument 'strict' must be true or false, got 'yes'")
    ]
    with pytest.raises(CleanError, match=r"^cleaner 'isbn13': not an ISBN-13: '12'$"):
        chain("12")
    load_modules(["tests.cleaners.custom_cleaners"])  # loading twice is harmless


def test_load_modules_names_the_module_that_fails(tmp_path, monkeypatch):
    with pytest.raises(ImportError, match=r"cannot load cleaner module 'no_such\.module'"):
        load_modules(["no_such.module"])
    (tmp_path / "broken_cleaners.py").write_text("raise RuntimeError('no config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        ImportError,
        match=r"^cannot load cleaner module 'broken_cleaners': RuntimeError: no config$",
    ):
        load_modules(["broken_cleaners"])
    sys.modules.pop("broken_cleaners", None)


def test_readme_lists_every_builtin():
    from pathlib import Path

    import cleaners

    readme = (Path(cleaners.__file__).parent / "README.md").read_text(encoding="utf-8")
    missing = [name for name in BUILTINS if f"`{name}" not in readme and f" `{name}`" not in readme]
    assert missing == []
