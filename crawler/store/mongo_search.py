"""Text search and contains/prefix filters in the MongoDB store (see :mod:`.sqlite_search` for
the embedded store's).

A text query uses the collection's text index (``$**``: every string field; language
``none``: no stemming, no stop words), which finds whole words: its words must be words of the
item (``shoe`` does not find ``shoes``, as the SQLite index does). Each word must be present
(AND): ``$text`` picks the items holding any of them, a regular expression per word over the
top-level string values (store fields left out) keeps those holding them all.

MongoDB's text index does not split Chinese or Japanese (no spaces between words): a query
with such a word is only the regular expressions, a scan of the collection, slower on a large
one. mongomock implements neither ``$text`` nor these expressions: those paths are tested on a
real server (``MONGO_URI``).
"""

from __future__ import annotations

import re
from typing import Any

from pymongo.errors import OperationFailure

from crawler.store.browse import ItemQuery, text_terms

SEARCH_INDEX = "search_text"
# Scripts written without spaces between words, which MongoDB's text index does not split.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def text_match(text: str) -> dict[str, Any]:
    """The filter of a text query.

    >>> text_match("shoe")
    {'$text': {'$search': 'shoe'}}
    >>> len(text_match("红色 shoe")["$and"])
    2
    """
    terms = text_terms(text)
    every = [_anywhere(term) for term in terms]
    if any(_UNSPACED.search(term) for term in terms):
        return {"$and": every}
    words = " ".join(term.replace('"', " ").replace("-", " ") for term in terms).strip()
    if not words:  # only quotes and dashes
        return {"$and": every}
    found = {"$text": {"$search": words}}
    return found if len(terms) == 1 and words == terms[0] else {"$and": [found, *every]}


def _anywhere(term: str) -> dict[str, Any]:
    """Whether a top-level string value (not a store field's) holds ``term``, any case."""
    regex = {"$regexMatch": {"input": "$$this.v", "regex": re.escape(term), "options": "i"}}
    strings = {
        "$filter": {
            "input": {"$objectToArray": "$$ROOT"},
            "cond": {
                "$and": [
                    {"$eq": [{"$type": "$$this.v"}, "string"]},
                    {"$ne": [{"$substrCP": ["$$this.k", 0, 1]}, "_"]},
                    regex,
                ]
            },
        }
    }
    return {"$expr": {"$gt": [{"$size": strings}, 0]}}


def search_parts(query: ItemQuery) -> list[dict[str, Any]]:
    """Conditions for the contains (any case), prefix (exact case: an index on the field
    serves it) and text parts of ``query``, regular expression characters escaped."""
    parts: list[dict[str, Any]] = [
        {name: {"$regex": re.escape(part), "$options": "i"}}
        for name, part in sorted(query.contains.items())
    ]
    parts += [
        {name: {"$regex": "^" + re.escape(start)}} for name, start in sorted(query.prefix.items())
    ]
    if query.text is not None:
        parts.append(text_match(query.text))
    return parts


def ensure_search(coll: Any) -> None:
    """The collection's text index, created if it has none (one text index per collection:
    an existing one serves)."""
    if any("text" in dict(info["key"]).values() for info in coll.index_information().values()):
        return
    try:
        coll.create_index([("$**", "text")], name=SEARCH_INDEX, default_language="none")
    except OperationFailure as exc:  # another text index, created meanwhile
        if "text index" not in str(exc).lower():
            raise
