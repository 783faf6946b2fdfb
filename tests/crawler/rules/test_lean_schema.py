"""crawler/rules/lean_schema.py answers as jsonschema does, on every rule and item type of the
project and on thousands of values made wrong on purpose; a crawl of valid rules and items does
not import jsonschema at all; and every item type a file may declare is a valid JSON Schema."""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from crawler.rules.itemtypes.model import FORMAT_CHECKS, ItemType, _format_checker
from crawler.rules.itemtypes.schema import FORMATS, item_type_schema
from crawler.rules.lean_schema import LeanValidator, equal
from crawler.rules.schema import rule_schema
from crawler.rules.yamlpos import load_yaml

ROOT = Path(__file__).resolve().parents[3]
# Values a YAML file or an extracted item can hold, each wrong somewhere.
ODD = [None, True, False, 0, 1, -1, 1.0, 2.5, "", "x", "12", [], ["x"], {}, {"x": 1}, [1, 1]]


def yaml_files(*globs: str) -> list[Path]:
    return sorted({p for g in globs for p in ROOT.glob(g)})


def documents(paths: list[Path]) -> list[dict]:
    docs = []
    for path in paths:
        try:
            data, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
        except Exception:
            continue
        if isinstance(data, dict):
            docs.append(data)
    return docs


def spots(data, path=()):
    """Every place in ``data``: (path, value)."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from spots(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from spots(value, (*path, index))


def replaced(data, path, value):
    out = copy.deepcopy(data)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return out


def removed(data, path):
    out = copy.deepcopy(data)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return out


def mutations(data, per_spot: int = 2):
    """The document with one place changed: a key dropped, a value swapped for an odd one, an
    unknown key added to a mapping."""
    yield data
    for n, (path, value) in enumerate(spots(data)):
        if not path:
            continue
        yield removed(data, path)
        for odd in ODD[n % len(ODD) :][:per_spot]:
            yield replaced(data, path, odd)
        if isinstance(value, dict):
            yield replaced(data, path, {**value, "feilds": 1})


def agree(schema, values, formats=None, format_checker=None):
    lean = LeanValidator(schema, formats)
    full = Draft202012Validator(schema, format_checker=format_checker)
    checked = unsure = 0
    for value in values:
        verdict = lean.verdict(value)
        if verdict is None:
            unsure += 1
            continue
        assert verdict == full.is_valid(value), value
        checked += 1
    return checked, unsure


def test_rule_schema_verdicts_match_jsonschema():
    docs = documents(yaml_files("rules/*.yaml", "benchmarks/rules/*.yaml", "tests/**/*.yaml"))
    assert len(docs) >= 15
    values = [m for doc in docs for m in mutations(doc)]
    checked, unsure = agree(rule_schema(), values)
    assert checked == len(values) > 2000 and unsure == 0
    # both answers occur: the corpus is not all valid or all broken
    lean = LeanValidator(rule_schema())
    answers = {lean.verdict(v) for v in values}
    assert answers == {True, False}


def test_item_type_file_verdicts_match_jsonschema():
    docs = documents(yaml_files("rules/types/*.yaml", "tests/**/types/*.yaml"))
    assert docs
    values = [m for doc in docs for m in mutations(doc)]
    checked, unsure = agree(item_type_schema(), values)
    assert checked == len(values) and unsure == 0


def item_types():
    found = [ItemType.from_dict(doc) for doc in documents(yaml_files("rules/types/*.yaml"))]
    declared = {
        f"f_{kind}_{(fmt or 'none').replace('-', '_')}": {
            "type": kind,
            **({"format": fmt} if fmt else {}),
        }
        for kind in ("string", "number", "integer", "boolean", "array", "object")
        for fmt in (None, *FORMATS)
        if fmt is None or kind == "string"
    }
    declared["bounded"] = {"type": "number", "minimum": 1, "exclusiveMaximum": 10}
    declared["short"] = {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^a"}
    declared["tags"] = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    declared["few"] = {"type": "array", "minItems": 1, "maxItems": 2}
    declared["choice"] = {"type": "integer", "enum": [1, 2, 3]}
    declared["flag"] = {"type": "boolean", "const": True}
    declared["must"] = {"type": "string", "required": True}
    found.append(ItemType.from_dict({"name": "every", "fields": declared}))
    return found


SAMPLES = {
    "date": ["2026-12-06", "06/12/2026", "2026-13-01", "2026-12-06T10:00:00"],
    "date-time": ["2026-12-06T10:00:00Z", "2026-12-06 10:00:00+08:00", "2026-12-06", "x"],
    "time": ["10:00:00", "10:00:00Z", "25:99", ""],
    "uri": ["https://example.com/a", "example.com", "mailto:a@b", "http:///x", "a b:c"],
    "uri-reference": ["/a?b=1", "a b", "http://[::1/", "#frag"],
    "email": ["a@b.example", "nobody", "@"],
    "ipv4": ["10.0.0.1", "10.0.0.256", "::1", "01.2.3.4"],
    "ipv6": ["::1", "::g", "fe80::1%eth0", "10.0.0.1"],
    "uuid": [
        "12345678-1234-5678-1234-567812345678",
        "12345678123456781234567812345678",
        "not-a-uuid",
        "{12345678-1234-5678-1234-567812345678}",
    ],
}


def test_item_verdicts_match_jsonschema_with_formats():
    checker = _format_checker()
    total = 0
    for item_type in item_types():
        base = {"_url": "https://example.com/1"}
        values = [base]
        for name, decl in item_type.fields.items():
            odd = [*ODD, *(v for vs in SAMPLES.values() for v in vs)]
            if decl.get("format"):
                odd = SAMPLES[decl["format"]] + odd
            values += [{**base, name: value} for value in odd]
        # whole items: every field given a value of its own type, then one field changed
        names = list(item_type.fields)
        for a, b in itertools.islice(itertools.product(ODD, repeat=2), 60):
            values.append({**base, **{n: (a if i % 2 else b) for i, n in enumerate(names)}})
        checked, unsure = agree(item_type.schema, values, FORMAT_CHECKS, checker)
        assert unsure == 0 and checked == len(values)
        total += checked
    assert total > 1000


def test_formats_match_jsonschema_one_by_one():
    checker = _format_checker()
    assert set(FORMAT_CHECKS) == set(FORMATS)
    for name, values in SAMPLES.items():
        lean = LeanValidator({"format": name}, FORMAT_CHECKS)
        for value in [*values, *ODD]:
            assert lean.verdict(value) == checker.conforms(value, name), (name, value)


def test_what_it_does_not_know_it_leaves_to_jsonschema():
    assert LeanValidator({"dependentRequired": {"a": ["b"]}}).verdict({"a": 1}) is None
    assert LeanValidator({"$ref": "https://elsewhere.example/s.json"}).verdict(1) is None
    assert LeanValidator({"format": "hostname"}, FORMAT_CHECKS).verdict("h") is None
    assert LeanValidator({"format": "hostname"}).verdict("h") is True  # format not asserted
    deep: dict = {}
    for _ in range(300):
        deep = {"items": deep}
    assert LeanValidator(deep).verdict([[[]]]) is True
    nested = []
    for _ in range(300):
        nested = [nested]
    assert LeanValidator(deep).verdict(nested) is None


@pytest.mark.parametrize(
    ("one", "two", "same"),
    [
        (True, 1, False),
        (0, False, False),
        (1, 1.0, True),
        ([True], [1], False),
        ({"a": 1}, {"a": 1.0}, True),
    ],  # fmt: skip
)
def test_equality_tells_booleans_from_numbers(one, two, same):
    assert equal(one, two) is same
    assert LeanValidator({"enum": [two]}).verdict(one) is same


def test_every_item_type_a_file_may_declare_is_a_valid_json_schema():
    """ItemType.from_dict no longer asks jsonschema's metaschema: the file's schema is stricter."""
    for item_type in item_types():
        Draft202012Validator.check_schema(item_type.schema)


CRAWL = """
import sys
from crawler.rules import load_rules
ruleset = load_rules("rules")
assert not ruleset.errors, ruleset.errors
book = ruleset.item_types["book"]
good = {"_url": "http://x/1", "title": "T", "price": 1.5, "published": "2026-12-06"}
assert book.apply(good).errors == []
print(sorted(m for m in sys.modules if m.split(".")[0] in ("jsonschema", "referencing")))
bad = {**good, "price": -1, "published": "06/12/2026"}
print(book.apply(bad).errors)
print("jsonschema" in sys.modules)
"""


def test_valid_rules_and_items_never_import_jsonschema_and_bad_ones_are_worded_by_it():
    out = subprocess.run(
        [sys.executable, "-c", CRAWL], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "[]", out.stdout + out.stderr
    assert "price: -1 is less than the minimum of 0" in lines[1]
    assert "published" in lines[1]
    assert lines[2] == "True"
