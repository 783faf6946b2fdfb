"""open_store: the URI scheme picks the backend; an unknown one is refused, credentials masked."""

from __future__ import annotations

import pytest

from crawler.store import StoreTarget, open_store
from crawler.store.documents import content_hash


def test_unknown_scheme_is_refused_with_masked_credentials() -> None:
    with pytest.raises(ValueError) as info:
        open_store("couchdb://bob:hunter2@db.example/items")
    assert "hunter2" not in str(info.value)
    assert "***@db.example/items" in str(info.value)


def test_no_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported store URI"):
        open_store("data/items.db")


def test_store_target_defaults() -> None:
    target = StoreTarget("books")
    assert target.key == ("url",) and target.history is False
    with pytest.raises(AttributeError):
        target.collection = "x"  # type: ignore[misc]


def test_content_hash_ignores_metadata_and_key_order() -> None:
    a = {"url": "u", "price": 1, "_crawled_at": "t1"}
    b = {"price": 1, "url": "u", "_crawled_at": "t2", "_rule": "r"}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "price": 2})


def test_canonical_json_matches_the_json_module_and_survives_odd_values() -> None:
    import json
    from datetime import UTC, datetime

    from crawler.store.documents import canonical_json, dumps

    item = {"b": [1, 2.5, None, True], "a": "Zoë ✓", "c": {"y": 1, "x": '\n"q"'}}
    assert canonical_json(item) == json.dumps(
        item, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    huge = {"id": 2**80, "when": datetime(2026, 1, 1, tzinfo=UTC), "s": {3}}
    assert json.loads(dumps(huge)) == {"id": 2**80, "when": "2026-01-01T00:00:00+00:00", "s": [3]}
    assert content_hash(huge) == content_hash(dict(reversed(huge.items())))
