import dataclasses
import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from cleaners import CleanContext
from crawler.rules.itemtypes import ItemType, ItemTypeError, Result, item_type_schema

BOOK = {
    "name": "book",
    "key": ["upc"],
    "history": True,
    "fields": {
        "upc": {"type": "string", "required": True},
        "title": {"type": "string", "required": True, "clean": ["collapse_whitespace"]},
        "price": {"type": "number", "required": True, "minimum": 0, "clean": ["to_number"]},
        "currency": {"type": "string", "enum": ["GBP", "USD", "EUR", "CNY"]},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "published": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string", "format": "uri", "clean": "absolute_url"},
    },
}

CRAWLED = datetime(2024, 3, 10, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book():
    return ItemType.from_dict(BOOK)


# -- from_dict ---------------------------------------------------------------------------------


def test_from_dict(book):
    assert book.name == "book"
    assert book.key == ("upc",)
    assert book.history is True
    assert list(book.fields) == list(BOOK["fields"])
    assert sorted(book.chains) == ["price", "title", "url"]
    assert repr(book) == "ItemType(name='book', key=('upc',), history=True, description='')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.name = "other"


def test_the_item_schema_is_built_from_fields(book):
    schema = book.schema
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["upc", "title", "price"]
    assert schema["properties"]["title"] == {"type": "string", "minLength": 1}
    assert schema["properties"]["currency"] == {
        "type": ["string", "null"],
        "enum": ["GBP", "USD", "EUR", "CNY", None],
    }
    assert schema["properties"]["tags"] == {"type": ["array", "null"], "items": {"type": "string"}}
    assert schema["additionalProperties"] is False and "^_" in schema["patternProperties"]
    assert "clean" not in str(schema)


def test_key_defaults_to_url_or_the_page_url():
    with_url = ItemType.from_dict({"name": "a", "fields": {"url": {"type": "string"}}})
    assert with_url.key == ("url",)
    assert with_url.schema["required"] == ["url"]  # key fields are required
    without = ItemType.from_dict({"name": "a", "fields": {"title": {"type": "string"}}})
    assert without.key == ("_url",) and without.history is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {**BOOK, "key": ["upcc"]},
            "item type 'book': key[0]: 'upcc' is not a declared field (did you mean 'upc'?)",
        ),
        (
            {"name": "a", "fields": {"t": {"type": "string", "clean": ["strp"]}}},
            "item type 'a': fields.t.clean[0]: unknown cleaner 'strp' (did you mean 'strip'?)",
        ),
        (
            {"name": "a", "fields": {"t": {"type": "string", "clean": "strp"}}},
            "item type 'a': fields.t.clean: unknown cleaner 'strp' (did you mean 'strip'?)",
        ),
        (
            {
                "name": "a",
                "fields": {
                    "t": {"type": "string", "clean": ["strip", {"regex_sub": {"pattern": "("}}]}
                },
            },
            "item type 'a': fields.t.clean[1]: cleaner 'regex_sub': invalid regular expression "
            "'(': missing ), unterminated subpattern at position 0",
        ),
        (
            {"name": "a", "fields": {"n": {"type": "number", "minimum": 5, "maximum": 1}}},
            "item type 'a': fields.n: minimum 5 is greater than maximum 1",
        ),
        (
            {"name": "a", "fields": {"s": {"type": "string", "pattern": "(["}}},
            "item type 'a': fields.s.pattern: invalid regular expression: "
            "unterminated character set at position 1",
        ),
        (
            {"name": "a", "fields": {"t": {"type": "strin"}}},
            "item type 'a': fields.t.type: 'strin' is not one of string, number, integer, "
            "boolean, array, object",
        ),
        (
            {"name": "a", "histroy": True, "fields": {"t": {"type": "string"}}},
            "item type 'a': unknown key 'histroy' (did you mean 'history'?)",
        ),
        (
            {"name": "a", "fields": {"t": {"type": "string", "requird": True}}},
            "item type 'a': fields.t: unknown key 'requird' (did you mean 'required'?)",
        ),
        (
            {"name": "a", "fields": {"_t": {"type": "string"}}},
            "item type 'a': fields: field name '_t' is not valid: use letters, digits and _, "
            "starting with a letter (a leading _ is reserved for platform metadata)",
        ),
        (
            {"name": "Book", "fields": {"t": {"type": "string"}}},
            "item type 'Book': name: 'Book' is not a valid name: use lower-case letters, digits "
            "and _, starting with a letter",
        ),
        ({"name": "a"}, "item type 'a': 'fields' is a required property"),
        (
            ["not", "a", "mapping"],
            "item type '?': an item type is a mapping, got ['not', 'a', 'mapping']",
        ),
    ],
)
def test_from_dict_reports_problems_with_their_path(data, message):
    with pytest.raises(ItemTypeError) as info:
        ItemType.from_dict(data)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_from_dict_reports_every_problem_at_once():
    data = {
        "name": "a",
        "key": ["nope"],
        "fields": {"t": {"type": "string", "clean": ["strp", {"lower": 1}]}},
    }
    with pytest.raises(ItemTypeError) as info:
        ItemType.from_dict(data)
    assert info.value.problems == [
        ("fields.t.clean[0]", "unknown cleaner 'strp' (did you mean 'strip'?)"),
        ("fields.t.clean[1]", "cleaner 'lower' takes no arguments, got 1"),
        ("key[0]", "'nope' is not a declared field"),
    ]


# -- apply -------------------------------------------------------------------------------------


def test_apply_maps_cleans_and_validates(book):
    extracted = {
        "sku": "a897fe39b1053632",
        "name": "  A Light in the\n  Attic ",
        "price": "£51.77",
        "currency": "GBP",
        "rating": 3,
        "tags": ["poetry"],
        "url": "catalogue/a-light-in-the-attic_1000/index.html",
        "_url": "https://books.example/index.html",
        "_rule": "books",
        "_crawled_at": CRAWLED,
    }
    result = book.apply(extracted, {"upc": "sku", "title": "name"})
    assert isinstance(result, Result) and result.ok
    assert result.item == {
        "_url": "https://books.example/index.html",
        "_rule": "books",
        "_crawled_at": CRAWLED,
        "upc": "a897fe39b1053632",
        "title": "A Light in the Attic",
        "price": 51.77,
        "currency": "GBP",
        "rating": 3,
        "tags": ["poetry"],
        "url": "https://books.example/catalogue/a-light-in-the-attic_1000/index.html",
    }
    assert result.errors == [] and result.raw == {} and result.dropped == []
    assert extracted["name"] == "  A Light in the\n  Attic "  # the input is not modified


def test_apply_reports_every_problem_readably(book):
    extracted = {
        "sku": "x1",
        "title": "",
        "price": "call us",
        "currency": "JPY",
        "rating": "4",
        "published": "3天前",
        "tags": ["a", None, 3],
        "url": "https://books.example/x",
        "isbn": "123",
        "_url": "https://books.example/x",
    }
    result = book.apply(extracted, {"upc": "sku"})
    assert result.errors == [
        "title: is empty, but a value is required",
        "price: cleaner 'to_number': cannot read a number from 'call us'",
        "currency: 'JPY' is not one of GBP, USD, EUR, CNY",
        "rating: '4' is a string, not an integer (add to_int to its clean chain)",
        "published: '3天前' is not a date in the form YYYY-MM-DD (add date to its clean chain)",
        "tags[1]: is null; lists may not hold nulls (add compact to its clean chain)",
        "tags[2]: 3 is an integer, not a string (add to_str to its clean chain)",
    ]
    assert result.raw == {"price": "call us"}
    assert result.item["price"] is None
    assert result.dropped == ["isbn"]
    assert not result.ok


def test_apply_missing_fields(book):
    result = book.apply({"price": "3", "rating": 9}, {"title": "name"})
    assert result.errors == [
        "upc: key field is missing (no 'upc' in the extracted item)",
        "title: required field is missing (no 'name' in the extracted item)",
        "rating: 9 is greater than the maximum of 5",
    ]
    assert "url" not in result.item and "currency" not in result.item  # absent stays absent


def test_apply_optional_fields_may_be_null(book):
    result = book.apply(
        {"upc": "u", "title": "t", "price": 1, "currency": None, "rating": None, "url": None}
    )
    assert result.ok, result.errors


def test_required_null_after_cleaning():
    kind = ItemType.from_dict(
        {
            "name": "job",
            "fields": {
                "url": {"type": "string", "format": "uri"},
                "salary": {"type": "integer", "required": True, "clean": [{"regex": r"(\d+)"}]},
            },
        }
    )
    result = kind.apply({"url": "https://jobs.example/1", "salary": "面议"})
    assert result.errors == ["salary: is null, but a value is required"]


def test_failed_cleaner_on_required_field_is_reported_once(book):
    result = book.apply({"upc": "u", "title": "t", "price": "n/a"})
    assert result.errors == ["price: cleaner 'to_number': cannot read a number from 'n/a'"]


def test_context_comes_from_metadata_or_argument():
    kind = ItemType.from_dict(
        {
            "name": "article",
            "fields": {
                "link": {"type": "string", "format": "uri", "clean": "absolute_url"},
                "published": {
                    "type": "string",
                    "format": "date",
                    "clean": [{"date": {"date_only": True, "timezone": "Asia/Shanghai"}}],
                },
            },
        }
    )
    item = {"link": "/a/1", "published": "3天前"}
    from_meta = kind.apply(
        {**item, "_url": "https://news.example/list", "_crawled_at": "2024-03-10T04:00:00Z"}
    )
    assert from_meta.ok, from_meta.errors
    assert from_meta.item["link"] == "https://news.example/a/1"
    assert from_meta.item["published"] == "2024-03-07"
    ctx = CleanContext(url="https://other.example/x/", crawl_time=CRAWLED)
    assert kind.apply(item, ctx=ctx).item["link"] == "https://other.example/a/1"
    no_ctx = kind.apply({"link": "/a/1"})
    assert no_ctx.errors == [
        "link: cleaner 'absolute_url': cannot make '/a/1' absolute: no page URL in the context"
    ]
    assert no_ctx.raw == {"link": "/a/1"}


def test_a_hint_never_asks_for_a_cleaner_the_chain_already_has():
    kind = ItemType.from_dict(
        {
            "name": "a",
            "fields": {
                "title": {"type": "string"},
                "rating": {"type": "integer", "clean": ["to_int", "to_str"]},
                "link": {"type": "string", "format": "uri", "clean": ["strip"]},
            },
        }
    )
    item = {"name": ["a", "b"], "rating": "4", "link": "/a"}
    plain = kind.apply(item, {"title": "name"})
    assert plain.errors == [
        "title: ['a', 'b'] is a list, not a string (add first or join to its clean chain)",
        # the type's own chain has to_int: it is never asked for again
        "rating: '4' is a string, not an integer (its clean chain has to_int already: "
        "a cleaner after it changes the value again)",
        "link: '/a' is not an absolute URI (add absolute_url to its clean chain)",
    ]
    # the cleaners the rule ran on the extracted fields (by their extracted names) count too
    cleaned = kind.apply(
        item, {"title": "name"}, cleaned_by={"name": {"join", "split"}, "link": {"absolute_url"}}
    )
    assert cleaned.errors[0] == (
        "title: ['a', 'b'] is a list, not a string (add first to its clean chain)"
    )
    assert cleaned.errors[2] == (
        "link: '/a' is not an absolute URI (its clean chain has absolute_url already: "
        "a cleaner after it changes the value again)"
    )


def test_default_cleaner_fills_an_absent_field():
    kind = ItemType.from_dict(
        {"name": "a", "fields": {"stock": {"type": "string", "clean": [{"default": "unknown"}]}}}
    )
    assert kind.apply({}).item == {"stock": "unknown"}


@pytest.mark.parametrize(
    ("fmt", "good", "bad", "message"),
    [
        ("uri", "https://a.example/x?y=1", "/x", "'/x' is not an absolute URI (add absolute_url to its clean chain)"),
        ("uri", "mailto:a@b.example", "http://", "'http://' is not an absolute URI"),
        ("date", "2024-03-05", "2024-02-30", "'2024-02-30' is not a date in the form YYYY-MM-DD"),
        ("date-time", "2024-03-05T14:30:00+08:00", "2024-03-05", "'2024-03-05' is not a date-time (ISO 8601, e.g. 2024-03-05T14:30:00)"),
        ("date-time", "2024-03-05T14:30:00", "yesterday", "'yesterday' is not a date-time (ISO 8601, e.g. 2024-03-05T14:30:00) (add date to its clean chain)"),
        ("email", "a@b.example", "nope", "'nope' is not an email address"),
    ],
)  # fmt: skip
def test_formats_are_checked(fmt, good, bad, message):
    kind = ItemType.from_dict({"name": "a", "fields": {"v": {"type": "string", "format": fmt}}})
    assert kind.validate({"v": good}) == []
    assert kind.validate({"v": bad}) == [f"v: {message}"]


def test_other_constraints():
    kind = ItemType.from_dict(
        {
            "name": "a",
            "fields": {
                "code": {"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3},
                "tags": {"type": "array", "minItems": 1, "uniqueItems": True},
                "flag": {"type": "boolean"},
                "n": {"type": "number", "exclusiveMinimum": 0},
            },
        }
    )
    assert kind.validate({"code": "abcd", "tags": ["x", "x"], "flag": "yes", "n": 0}) == [
        "code: 'abcd' does not match the pattern '^[A-Z]{3}$'",
        "code: 'abcd' is longer than 3 characters",
        "tags: has repeated elements (add unique to its clean chain)",
        "flag: 'yes' is a string, not true or false (add to_bool to its clean chain)",
        "n: 0 is not greater than 0",
    ]
    assert kind.validate({"tags": [], "other": 1, "flags": True, "_meta": 1}) == [
        "tags: has 0 element(s), fewer than 1",
        "other: is not a declared field",
        "flags: is not a declared field (did you mean 'flag'?)",
    ]


def test_check_mapping(book):
    assert book.check_mapping({"upc": "sku", "title": "name"}) == []
    assert book.check_mapping(None) == []
    assert book.check_mapping({"titel": "name", "price": 5}) == [
        "mapping: 'titel' is not a field of item type 'book' (did you mean 'title'?)",
        "mapping.price: the source must be a field name, got 5",
    ]


def test_apply_is_cheap(book):
    import time

    item = {"upc": "u", "title": " t ", "price": "£3", "url": "https://a.example/", "rating": 4}
    start = time.perf_counter()
    for _ in range(2000):
        book.apply(item)
    assert time.perf_counter() - start < 2.0


# -- the item-type schema ----------------------------------------------------------------------


def test_item_type_schema_is_valid_and_accepts_the_example():
    schema = item_type_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert list(validator.iter_errors(BOOK)) == []
    assert "strip" in schema["$defs"]["cleaner_name"]["anyOf"][0]["enum"]
    json.dumps(schema)  # an editor or the crawler may write it to a file
    lone = {"name": "a", "fields": {"t": {"type": "string", "clean": {"regex": r"\d+"}}}}
    assert list(validator.iter_errors(lone)) == []
    assert ItemType.from_dict(lone).chains["t"]("a12") == "12"


@pytest.mark.parametrize(
    "bad",
    [
        {"fields": {"t": {"type": "string"}}},
        {"name": "a", "fields": {}},
        {"name": "a", "fields": {"t": {}}},
        {"name": "a", "fields": {"t": {"type": "string", "clean": 5}}},
        {"name": "a", "fields": {"t": {"type": "string", "clean": [{"a": 1, "b": 2}]}}},
        {"name": "a", "key": [], "fields": {"t": {"type": "string"}}},
        {"name": "a", "history": "yes", "fields": {"t": {"type": "string"}}},
        {"name": "a", "fields": {"t": {"type": "string", "format": "colour"}}},
    ],
)
def test_item_type_schema_rejects_bad_files(bad):
    assert list(Draft202012Validator(item_type_schema()).iter_errors(bad))
