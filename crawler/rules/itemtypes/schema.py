"""The JSON Schema of an item-type file (``rules/types/*.yaml``), for checking and completion."""

from __future__ import annotations

from typing import Any

from cleaners.registry import REGISTRY, Registry
from crawler.rules.itemtypes.near_duplicates import NEAR_DUPLICATES_SCHEMA

FIELD_TYPES = ("string", "number", "integer", "boolean", "array", "object")
FORMATS = ("date", "date-time", "time", "uri", "uri-reference", "email", "ipv4", "ipv6", "uuid")
NAME = r"^[a-z][a-z0-9_]*$"
FIELD_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"  # a leading _ is reserved for platform metadata
CLEANER_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def item_type_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of an item-type file, to validate it and to complete it.

    Cleaner names are offered for completion (those registered when this is called) but not
    enforced: :meth:`ItemType.from_dict` checks chains against the registry, with did-you-mean.
    """
    registry = registry or REGISTRY
    names = registry.names()
    # Shown by editors when completing {name: arguments}.
    described = {
        n: {"description": f"{registry.get(n).signature()}: {_first_line(registry.get(n).doc)}"}
        for n in names
    }
    value_keys: dict[str, Any] = {
        "type": {"enum": list(FIELD_TYPES), "description": "The JSON type of the cleaned value."},
        "description": {"type": "string"},
        "title": {"type": "string"},
        "enum": {"type": "array", "minItems": 1, "description": "The allowed values."},
        "const": {},
        "format": {
            "enum": list(FORMATS),
            "description": "A format the value must have (uri means absolute).",
        },
        "pattern": {"type": "string", "format": "regex"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "exclusiveMinimum": {"type": "number"},
        "exclusiveMaximum": {"type": "number"},
        "minLength": {"type": "integer", "minimum": 0},
        "maxLength": {"type": "integer", "minimum": 0},
        "minItems": {"type": "integer", "minimum": 0},
        "maxItems": {"type": "integer", "minimum": 0},
        "uniqueItems": {"type": "boolean"},
        "items": {"$ref": "#/$defs/value"},
        "examples": {"type": "array"},
    }
    cleaner_name = {
        "anyOf": [{"enum": names}, {"type": "string", "pattern": CLEANER_NAME}],
        "description": "A registered cleaner.",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:crawler-platform:item-type",
        "title": "Item type",
        "description": "The fields of one business type of item, how to clean and validate them.",
        "type": "object",
        "required": ["name", "fields"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": NAME, "description": "e.g. book, article"},
            "description": {"type": "string"},
            "key": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "uniqueItems": True,
                "description": "Fields identifying an item (default: [url]).",
            },
            "history": {
                "type": "boolean",
                "default": False,
                "description": "Keep previous versions of an item when it changes.",
            },
            "fields": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": FIELD_NAME},
                "additionalProperties": {"$ref": "#/$defs/field"},
            },
            "near_duplicates": NEAR_DUPLICATES_SCHEMA,
        },
        "$defs": {
            "value": {
                "type": "object",
                "additionalProperties": False,
                "properties": value_keys,
            },
            "field": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {
                    **value_keys,
                    "required": {
                        "type": "boolean",
                        "default": False,
                        "description": "The field must have a value (not null or empty).",
                    },
                    "clean": {"$ref": "#/$defs/chain"},
                },
            },
            "chain": {
                "description": "Cleaners run in order: a name, or a list of names and "
                "{name: arguments} mappings.",
                "anyOf": [
                    {"type": "null"},
                    {"$ref": "#/$defs/chain_item"},
                    {"type": "array", "items": {"$ref": "#/$defs/chain_item"}},
                ],
            },
            "chain_item": {
                "anyOf": [
                    {"$ref": "#/$defs/cleaner_name"},
                    {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "propertyNames": {"$ref": "#/$defs/cleaner_name"},
                        "properties": described,
                    },
                ]
            },
            "cleaner_name": cleaner_name,
        },
    }
