"""Item types: the business shape of an item (a book, an article), its storage identity (key,
history), and how extracted items are mapped, cleaned and validated against it.

- :mod:`.model`: :class:`ItemType` (built from a parsed file) and its :class:`Result`
- :mod:`.messages`: validation errors worded for a person
- :mod:`.schema`: the JSON Schema of item-type files
- :mod:`.near_duplicates`: ``near_duplicates:``, what the store compares to find reposts
- :mod:`.files`: reading ``rules/types/*.yaml`` with positions
"""

from crawler.rules.itemtypes.files import load_item_type, load_item_types
from crawler.rules.itemtypes.model import ItemType, ItemTypeError, Result
from crawler.rules.itemtypes.near_duplicates import NearDuplicates
from crawler.rules.itemtypes.schema import item_type_schema

__all__ = [
    "ItemType",
    "ItemTypeError",
    "NearDuplicates",
    "Result",
    "item_type_schema",
    "load_item_type",
    "load_item_types",
]
