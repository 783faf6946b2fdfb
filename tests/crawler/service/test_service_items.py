"""Items API over every store backend: collections, keyset pages (filtered, sorted, counted),
one item with its history, dead letters and their replay, streamed exports, the change feed."""

from __future__ import annotations

import csv
import io
import json
import time
from urllib.parse import quote

from tests.crawler.service.conftest import Service


def seed(service: Service, n: int = 30) -> None:
    items = [
        {
            "url": f"http://x/{i}",
            "price": float(i % 7),
            "tag": "a" if i % 2 else "b",
            "_crawled_at": f"2026-01-{1 + i % 5:02d}T00:00:00+00:00",
        }
        for i in range(n)
    ]
    service.store.upsert_many("books", items, ("url",), history=True)


def test_collections_list_counts_dead_letters_and_history(service: Service) -> None:
    seed(service)
    service.store.upsert_many(
        "books", [{"url": "http://x/1", "price": 5.0}], ("url",), history=True
    )
    service.store.dead_letter("books", [{"url": "bad"}], ["missing title"])
    service.store.dead_letter("lost", [{"x": 1}], ["no key"])  # every item went to dead letters
    answer = service.client.get("/api/collections").json()["items"]
    by_name = {c["name"]: c for c in answer}
    assert by_name["books"] == {
        "name": "books",
        "count": 30,
        "dead": 1,
        "history": True,
        # what its listings may sort and filter by: the store's fields and SERVICE_INDEXES's
        "fields": ["_crawled_at", "_first_seen", "_updated_at", "price", "tag"],
    }
    assert by_name["lost"]["dead"] == 1 and by_name["lost"]["count"] == 0
    assert not any(c["name"].endswith(("__dead", "__history")) for c in answer)


def test_items_paged_filtered_sorted_and_counted(service: Service) -> None:
    seed(service)
    seen, cursor = [], None
    for _ in range(20):
        params = {"limit": 4, "sort": "-price", "f.tag": "a", "count": "true"}
        if cursor:
            params["cursor"] = cursor
        answer = service.client.get("/api/collections/books/items", params=params).json()
        assert answer["count"] == 15
        seen += answer["items"]
        cursor = answer["next"]
        if cursor is None:
            break
    assert len(seen) == 15 and all(d["tag"] == "a" for d in seen)
    prices = [d["price"] for d in seen]
    assert prices == sorted(prices, reverse=True)
    first = seen[0]
    for field in ("_key", "_hash", "_first_seen", "_updated_at", "url"):
        assert field in first


def test_crawl_time_range_and_typed_filters(service: Service) -> None:
    seed(service)
    answer = service.client.get(
        "/api/collections/books/items",
        params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-03", "count": "true"},
    ).json()
    assert answer["count"] == 6
    assert {d["_crawled_at"][:10] for d in answer["items"]} == {"2026-01-02"}
    by_number = service.client.get("/api/collections/books/items?f.price=3&count=true").json()
    assert by_number["count"] == sum(1 for i in range(30) if i % 7 == 3)


def test_bad_queries_are_refused_and_unknown_collections_404(service: Service) -> None:
    seed(service)
    client = service.client
    assert client.get("/api/collections/nope/items").status_code == 404
    assert client.get("/api/collections/books/items?limit=501").status_code == 422
    assert client.get("/api/collections/books/items?since=yesterday").status_code == 422
    # a cursor it did not hand out, a field name no query may use: 400, one line
    for query in ("cursor=zzz", "sort=$where", "f.$gt=1", "sort=-url", "f.url=x"):
        answer = client.get(f"/api/collections/books/items?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert "\n" not in answer.json()["detail"]


def test_one_item_with_its_history_newest_first(service: Service) -> None:
    seed(service)
    for price in (100.0, 200.0):
        service.store.upsert_many(
            "books", [{"url": "http://x/1", "price": price, "tag": "a"}], ("url",), history=True
        )
    key = quote('["http://x/1"]', safe="")
    answer = service.client.get(f"/api/collections/books/items/{key}").json()
    assert answer["item"]["price"] == 200.0
    assert [h["price"] for h in answer["history"]] == [100.0, 1.0]
    assert all("_replaced_at" in h for h in answer["history"])
    assert service.client.get("/api/collections/books/items/%5B%22nope%22%5D").status_code == 404


def test_dead_letters_listed_and_replayed_after_the_fix(service: Service) -> None:
    # Items of the sample_books rule (item type book) that failed validation: price missing.
    dead = [
        {
            "_url": f"http://x/book/{i}.html",
            "_rule": "sample_books",
            "_page": "book",
            "title": f"B{i}",
            "price": None,
            "_errors": ["price: None is not of type 'number'"],
        }
        for i in range(3)
    ]
    service.store.dead_letter("sample_books", dead, ["price: None is not of type 'number'"] * 3)
    listed = service.client.get("/api/collections/sample_books/dead?limit=2").json()
    assert len(listed["items"]) == 2 and listed["next"]
    assert listed["items"][0]["_reason"].startswith("price")
    ids = [d["_dead_id"] for d in listed["items"]]
    body = {"ids": ids}
    assert (
        service.client.post("/api/collections/sample_books/dead/replay", json=body).status_code
        == 401
    )
    # Not fixed yet: they stay dead.
    answer = service.client.post(
        "/api/collections/sample_books/dead/replay", json=body, headers=service.auth
    ).json()
    assert answer["replayed"] == 0 and answer["still_dead"] == 2
    # The fix: the item type no longer requires a price.
    types = service.rules_dir / "types" / "book.yaml"
    types.write_text(
        types.read_text(encoding="utf-8").replace(
            "price: {type: number, required: true, minimum: 0}", "price: {type: number}"
        ),
        encoding="utf-8",
    )
    answer = service.client.post(
        "/api/collections/sample_books/dead/replay", json={"all": True}, headers=service.auth
    ).json()
    assert answer == {"replayed": 3, "still_dead": 0, "reasons": {}}
    assert service.store.count("sample_books") == 3
    assert service.client.get("/api/collections/sample_books/dead").json()["items"] == []


def test_replay_keeps_an_item_aside_under_its_new_reason(service: Service) -> None:
    service.store.dead_letter(
        "sample_books",
        [
            {
                "_url": "http://x/book/1.html",
                "_rule": "sample_books",
                "_page": "book",
                "title": "",
                "price": 3,
            }
        ],
        ["old reason"],
    )
    answer = service.client.post(
        "/api/collections/sample_books/dead/replay", json={"all": True}, headers=service.auth
    ).json()
    assert answer["replayed"] == 0 and answer["still_dead"] == 1
    (doc,) = service.client.get("/api/collections/sample_books/dead").json()["items"]
    assert doc["_reason"] != "old reason" and "title" in doc["_reason"]


def test_exports_stream_every_item_in_each_format(service: Service) -> None:
    seed(service, 120)
    service.store.upsert_many("books", [{"url": "http://x/extra", "only_here": [1, 2]}], ("url",))
    base = "/api/collections/books/export"
    jsonl = service.client.get(base, params={"format": "jsonl"})
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) == 121 and len({r["url"] for r in rows}) == 121
    as_json = service.client.get(base, params={"format": "json", "f.tag": "a"}).json()
    assert len(as_json) == 60 and all(r["tag"] == "a" for r in as_json)
    table = list(csv.DictReader(io.StringIO(service.client.get(f"{base}?format=csv").text)))
    assert len(table) == 121
    extra = next(r for r in table if r["url"] == "http://x/extra")
    assert extra["only_here"] == "[1,2]" and extra["_key"] == '["http://x/extra"]'
    assert service.client.get(f"{base}?format=xml").status_code == 422


def test_change_feed_gives_new_and_changed_items_once(service: Service) -> None:
    service.client.app.state.config = type(service.client.app.state.config)(
        **{**service.client.app.state.config.__dict__, "changes_settle": 0.0}
    )
    seed(service, 10)
    time.sleep(0.01)
    first = service.client.get("/api/changes", params={"collection": "books", "limit": 6}).json()
    second = service.client.get(
        "/api/changes", params={"collection": "books", "cursor": first["next"]}
    ).json()
    assert len(first["items"]) + len(second["items"]) == 10
    service.store.upsert_many("books", [{"url": "http://x/3", "price": 99.0}], ("url",))
    time.sleep(0.01)
    third = service.client.get(
        "/api/changes", params={"collection": "books", "cursor": second["next"]}
    ).json()
    assert [d["url"] for d in third["items"]] == ["http://x/3"] and third["next"]
    assert service.client.get("/api/changes?collection=nope").status_code == 404
