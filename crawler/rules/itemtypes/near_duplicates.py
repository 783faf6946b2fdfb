"""An item type's ``near_duplicates:``: which fields say whether two items are the same story
told by two sources (a notice reposted by the ministry, the province and the city), and how
alike they must be. The store finds them (crawler/store/neardup.py; docs/storage.md)::

    near_duplicates:
      fields: [title, content]   # fields of the type, compared as one text
      threshold: 0.8             # estimated Jaccard similarity of their shingles, 0..1

>>> fields, problems = {"title": {}, "content": {}}, []
>>> near_duplicates_of("notice", {"near_duplicates": {"fields": ["title", "content"]}}, fields, problems)
NearDuplicates(item_type='notice', fields=('title', 'content'), threshold=0.8)
>>> near_duplicates_of("notice", {"near_duplicates": {"fields": ["titel"]}}, fields, problems)
NearDuplicates(item_type='notice', fields=('titel',), threshold=0.8)
>>> problems
[('near_duplicates.fields[0]', "'titel' is not a declared field (did you mean 'title'?)")]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.rules.itemtypes.messages import did_you_mean

DEFAULT_THRESHOLD = 0.8

#: The schema of the key (in :func:`crawler.rules.itemtypes.item_type_schema`).
NEAR_DUPLICATES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["fields"],
    "description": "Find items that tell the same story as an earlier one (of any collection "
    "of this type): they are stored with _duplicate_of naming the earliest.",
    "properties": {
        "fields": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Fields of this type compared as one text, e.g. [title, content].",
        },
        "threshold": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": DEFAULT_THRESHOLD,
            "description": "How alike (estimated Jaccard similarity of character shingles) an "
            "item must be to an earlier one to be its near-duplicate.",
        },
    },
}


@dataclass(frozen=True)
class NearDuplicates:
    """What the store compares for the items of ``item_type``, and from which similarity on."""

    item_type: str
    fields: tuple[str, ...]
    threshold: float = DEFAULT_THRESHOLD


def near_duplicates_of(
    item_type: str, data: Mapping[str, Any], fields: Mapping[str, Any], problems: list
) -> NearDuplicates | None:
    """The declaration of an item-type file whose shape the schema accepted (None when it has
    none); each of its fields the type does not declare goes into ``problems`` as ``(path,
    message)``."""
    spec = data.get("near_duplicates")
    if not isinstance(spec, Mapping):
        return None
    for i, name in enumerate(spec["fields"]):
        if name not in fields:
            where = f"near_duplicates.fields[{i}]"
            problems.append(
                (where, f"{name!r} is not a declared field{did_you_mean(name, fields)}")
            )
    threshold = float(spec.get("threshold", DEFAULT_THRESHOLD))
    return NearDuplicates(item_type, tuple(spec["fields"]), threshold)
