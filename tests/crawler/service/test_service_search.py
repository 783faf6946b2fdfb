"""Text search (``q=``) and contains/prefix filters (``f.field~contains=``, ``~prefix=``) on
the items listing and the export; one-line 400s for what is not a search. ``q=`` needs a
text index: SQLite, or a real MongoDB server (mongomock has no ``$text``)."""

from __future__ import annotations

import json

import pytest

from tests.crawler.service.conftest import Service

BOOKS = [
    {"url": "http://x/1", "tag": "Red dress", "price": 1.0},
    {"url": "http://x/2", "tag": "红色连衣裙", "price": 2.0},
    {"url": "http://x/3", "tag": "50%_off", "price": 3.0},
    {"url": "http://x/4", "tag": "blue 红色", "price": 4.0},
]


def urls(service: Service, **params: str) -> list[str]:
    answer = service.client.get("/api/collections/books/items", params=params)
    assert answer.status_code == 200, answer.text
    return [d["url"][-1] for d in answer.json()["items"]]


def test_text_search_lists_pages_counts_and_exports(service: Service) -> None:
    if service.backend == "mongo":
        pytest.skip("mongomock has no $text (runs with MONGO_URI)")
    service.store.upsert_many("books", BOOKS, ("url",))
    assert urls(service, q="红色", sort="price") == ["2", "4"]
    assert urls(service, q="dress") == ["1"]
    first = service.client.get(
        "/api/collections/books/items", params={"q": "红色", "limit": 1, "count": "true"}
    ).json()
    assert first["count"] == 2 and len(first["items"]) == 1
    rest = service.client.get(
        "/api/collections/books/items", params={"q": "红色", "limit": 1, "cursor": first["next"]}
    ).json()
    assert {first["items"][0]["url"], rest["items"][0]["url"]} == {"http://x/2", "http://x/4"}
    export = service.client.get("/api/collections/books/export", params={"q": "连衣裙"})
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [d["url"] for d in lines] == ["http://x/2"]


def test_contains_and_prefix_filters(service: Service) -> None:
    service.store.upsert_many("books", BOOKS, ("url",))
    assert urls(service, **{"f.tag~contains": "%_OFF", "sort": "price"}) == ["3"]
    assert urls(service, **{"f.tag~contains": "红色", "sort": "price"}) == ["2", "4"]
    assert urls(service, **{"f.tag~prefix": "Red"}) == ["1"]
    assert urls(service, **{"f.tag~prefix": "red"}) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x" * 201}, "q: a text query is at most 200 characters"),
        ({"q": "  "}, "q: a text query needs a word"),
        ({"f.tag~like": "x"}, "'f.tag~like': after ~ comes contains or prefix"),
        ({"f.tag~contains": ""}, "a contains/prefix value is 1 to 200 characters"),
        ({"f.$where~prefix": "x"}, "not a field name: '$where'"),
        ({"f.title~contains": "x"}, "cannot sort or filter 'books' by 'title'"),
    ],
)
def test_bad_searches_are_one_line_400s(
    service: Service, params: dict[str, str], message: str
) -> None:
    service.store.upsert_many("books", BOOKS, ("url",))
    for path in ("items", "export"):
        answer = service.client.get(f"/api/collections/books/{path}", params=params)
        assert answer.status_code == 400, answer.text
        detail = answer.json()["detail"]
        assert message in detail and "\n" not in detail
