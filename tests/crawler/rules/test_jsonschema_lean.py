"""crawler/rules/jsonschema_lean.py: the compiler's jsonschema loads none of the format libraries
the platform never checks, every format an item type may name is still checked, and the
libraries held back stay importable afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CODE = """
import sys
import crawler.rules
from crawler.rules import load_rules
from crawler.rules.itemtypes.model import _format_checker
from crawler.rules.itemtypes.schema import FORMATS
from crawler.rules.jsonschema_lean import HELD_BACK  # jsonschema, as a broken rule loads it
load_rules("rules")
print(sorted(n for n in HELD_BACK if n in sys.modules))
print(sorted(set(FORMATS) - set(_format_checker().checkers)))
import arrow, webcolors  # held back only while jsonschema was imported
print("importable")
"""


def test_the_compiler_loads_no_unused_format_library_and_checks_every_format():
    out = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n")[:3] == ["[]", "[]", "importable"], out.stdout + out.stderr


def test_item_type_formats_are_judged(tmp_path):
    from crawler.rules.itemtypes.model import _format_checker

    checker = _format_checker()
    good = {"date": "2026-12-06", "date-time": "2026-12-06T10:00:00Z", "time": "10:00:00",
            "uri": "https://example.com/a", "uri-reference": "/a?b=1", "email": "a@b.example",
            "ipv4": "10.0.0.1", "ipv6": "::1", "uuid": "12345678-1234-5678-1234-567812345678"}  # fmt: skip
    bad = {"date": "06/12/2026", "date-time": "2026-12-06", "time": "25:99",
           "uri": "example.com", "uri-reference": "a b", "email": "nobody",
           "ipv4": "10.0.0.256", "ipv6": "::g", "uuid": "not-a-uuid"}  # fmt: skip
    for name, value in good.items():
        assert checker.conforms(value, name), name
    for name, value in bad.items():
        assert not checker.conforms(value, name), name
