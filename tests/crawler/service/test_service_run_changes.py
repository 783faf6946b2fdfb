"""What one run changed (``GET /api/runs/{id}/changes``: new and updated items of its window,
the replaced version for the diff, keyset pages) and the failing fields of dead letters with
their line in the rule's file (``GET /api/collections/{name}/dead``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.crawler.service.conftest import Service


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def test_the_new_and_updated_items_of_one_run(service: Service) -> None:
    store = service.store
    key = ("_url",)
    before = datetime.now(UTC) - timedelta(hours=2)
    old = [
        {"_url": f"http://x/book/{i}.html", "_rule": "sample_books", "_page": "book",
         "title": f"B{i}", "price": 1.0, "_crawled_at": _iso(before)}
        for i in range(3)
    ]  # fmt: skip
    store.upsert_many("sample_books", old, key, history=True)
    time.sleep(0.01)  # the run starts after those were first seen (the store has ms)
    started = datetime.now(UTC)
    crawled = _iso(started)
    changed = {**old[0], "price": 2.0, "_crawled_at": crawled}
    unchanged = {**old[1], "_crawled_at": crawled}  # crawled again, not written again
    added = {**old[2], "_url": "http://x/book/new.html", "title": "New", "_crawled_at": crawled}
    store.upsert_many("sample_books", [changed, unchanged, added], key, history=True)
    finished = datetime.now(UTC)
    store.record_run(
        {"run_id": "r1", "rule": "sample_books", "status": "finished",
         "started_at": started.isoformat().replace("+00:00", "Z"),
         "finished_at": finished.isoformat().replace("+00:00", "Z")}
    )  # fmt: skip

    answer = service.client.get("/api/runs/r1/changes").json()
    assert answer["collection"] == "sample_books" and answer["collections"] == ["sample_books"]
    assert answer["run"]["rule"] == "sample_books"
    by_url = {c["item"]["_url"]: c for c in answer["items"]}
    assert set(by_url) == {changed["_url"], added["_url"]}
    assert by_url[added["_url"]]["change"] == "new" and by_url[added["_url"]]["previous"] is None
    update = by_url[changed["_url"]]
    assert update["change"] == "updated" and update["item"]["price"] == 2.0
    assert update["previous"]["price"] == 1.0

    first = service.client.get("/api/runs/r1/changes?limit=1").json()
    assert len(first["items"]) <= 1 and first["next"]
    rest = service.client.get(f"/api/runs/r1/changes?limit=1&cursor={first['next']}").json()
    seen = [c["item"]["_url"] for c in first["items"] + rest["items"]]
    assert len(set(seen)) == len(seen)

    assert service.client.get("/api/runs/nope/changes").status_code == 404
    assert service.client.get("/api/runs/r1/changes?collection=nope").status_code == 404
    assert service.client.get("/api/runs/r1/changes?cursor=garbage").status_code == 400


def test_dead_letters_name_the_failing_field_and_its_rule_line(service: Service) -> None:
    dead = {
        "_url": "http://x/book/1.html",
        "_rule": "sample_books",
        "_page": "book",
        "title": "B1",
        "price": None,
        "_errors": ["price: None is not of type 'number'", "mystery: odd"],
    }
    service.store.dead_letter("sample_books", [dead], ["; ".join(dead["_errors"])])
    service.store.dead_letter(
        "sample_books", [{"x": 1, "_rule": "gone"}], ["missing key field 'x'"]
    )
    items = service.client.get("/api/collections/sample_books/dead").json()["items"]
    fields = {d["_reason"]: d["_fields"] for d in items}
    price, mystery = fields["price: None is not of type 'number'; mystery: odd"]
    text = (service.rules_dir / "sample_books.yaml").read_text("utf-8").splitlines()
    assert price["field"] == "price" and text[price["line"] - 1].strip().startswith("price:")
    assert mystery == {"field": "mystery", "message": "odd", "line": None}
    assert fields["missing key field 'x'"] == [
        {"field": "x", "message": "missing key field 'x'", "line": None}
    ]
