"""jsonschema, imported without the format libraries it would load for formats the platform never
checks.

Rules and item types are checked with jsonschema's Draft 2020-12 validator. On import, jsonschema
loads every optional format library it finds (arrow, isoduration, rfc3987, webcolors,
uri_template, fqdn, jsonpointer, rfc3339_validator; Spidermon's ``jsonschema[format]`` installs
them): 4 MiB in every crawl, for formats no rule or item type can name. Item types allow only
:data:`crawler.rules.itemtypes.schema.FORMATS`, which jsonschema checks with the standard library
or crawler/rules/itemtypes/model.py checks itself. So the compiler imports jsonschema through
here: the first import holds those libraries back for its duration (``None`` in ``sys.modules``
makes an import fail, as the import system documents) and lets them go again, so they stay
importable by anything else. If jsonschema was imported before (by Spidermon, or a project's
code), nothing changes. (tests/crawler/rules/test_jsonschema_lean.py: every format an item type
may name is still checked.)
"""

from __future__ import annotations

import sys

HELD_BACK = (
    "arrow",
    "fqdn",
    "isoduration",
    "jsonpointer",
    "rfc3339_validator",
    "rfc3986_validator",
    "rfc3987",
    "rfc3987_syntax",
    "uri_template",
    "webcolors",
)


def _import_jsonschema() -> None:
    if "jsonschema" in sys.modules:
        return
    held = [name for name in HELD_BACK if name not in sys.modules]
    for name in held:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import jsonschema  # noqa: F401
    finally:
        for name in held:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_jsonschema()

from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402
from jsonschema.exceptions import SchemaError, ValidationError  # noqa: E402

__all__ = ["Draft202012Validator", "FormatChecker", "SchemaError", "ValidationError"]
