"""Near-duplicates through the items API, on every store backend: an item's cluster (the item
it repeats, the items repeating it, bounded), listings with ``duplicates=only|hide``, and the
signatures kept out of the collections list."""

from __future__ import annotations

from urllib.parse import quote

from crawler.rules.itemtypes import NearDuplicates
from crawler.store.batches import Batch, Destination
from crawler.store.documents import key_text
from crawler.store.neardup_store import NearDupMarker
from tests.crawler.service.conftest import Service

SPEC = NearDuplicates("notice", ("title", "content"), 0.8)
NOTICE_TYPE = """name: notice
key: [url]
near_duplicates: {fields: [title, content]}
fields:
  url: {type: string, required: true}
  title: {type: string}
  content: {type: string}
"""
CITY_RULE = """name: gov_city
start: [{url: "https://city.example/notices/", page: notice}]
item: {type: notice, collection: city}
pages:
  notice:
    fields:
      url: {css: "link[rel=canonical]::attr(href)"}
      title: {css: "h1::text"}
      content: {css: div.content, text: true}
"""
STORY = (
    "The provincial office announces the results of the 2024 survey of rural roads: 412 "
    "kilometres were repaired, and the remaining works will be finished before the winter."
)
OTHER = "The city library opens a new reading room for children on the first of June, 9 to 5."


def store_notices(service: Service) -> None:
    marker = NearDupMarker(max_index=100)
    batches = [
        ("ministry", [("m/1", "Road survey", STORY), ("m/2", "Library", OTHER)]),
        ("province", [("p/1", "Road survey (repost)", STORY + " Source: the ministry.")]),
        ("city", [(f"c/{i}", f"Road survey, copy {i}", f"{STORY} Copy {i}.") for i in range(4)]),
    ]
    for collection, rows in batches:
        items = [{"url": u, "title": t, "content": c} for u, t, c in rows]
        marker.upsert(
            service.store,
            Batch(Destination(collection, ("url",), near_duplicates=SPEC), items=items),
        )


def item(service: Service, collection: str, url: str) -> dict:
    path = f"/api/collections/{collection}/items/{quote(key_text([url]), safe='')}"
    answer = service.client.get(path, headers=service.auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_items_cluster_and_the_listing_filters(service: Service) -> None:
    store_notices(service)
    root = item(service, "ministry", "m/1")["cluster"]
    assert root["original"] is None
    assert [d["key"] for d in root["duplicates"]] == [key_text(["p/1"])] + [
        key_text([f"c/{i}"]) for i in range(4)
    ]
    assert (
        root["duplicates"][0]
        == {
            "collection": "province",
            "key": key_text(["p/1"]),
            "label": "Road survey (repost)",
            "seen": root["duplicates"][0]["seen"],
        }
        and not root["more"]
    )

    repost = item(service, "city", "c/2")
    assert repost["item"]["_duplicate_of"] == {"collection": "ministry", "key": key_text(["m/1"])}
    cluster = repost["cluster"]
    assert (cluster["original"]["key"], cluster["original"]["label"]) == (
        key_text(["m/1"]),
        "Road survey",
    )
    assert key_text(["c/2"]) not in [d["key"] for d in cluster["duplicates"]]
    assert len(cluster["duplicates"]) == 4 and not cluster["more"]
    assert item(service, "ministry", "m/2")["cluster"] == {
        "original": None,
        "duplicates": [],
        "more": False,
    }

    # signatures are no collection; a collection a rule of the type stores into is indexed
    # for the listing filter
    (service.rules_dir / "types" / "notice.yaml").write_text(NOTICE_TYPE, encoding="utf-8")
    (service.rules_dir / "gov_city.yaml").write_text(CITY_RULE, encoding="utf-8")
    answer = service.client.get("/api/collections", headers=service.auth).json()["items"]
    assert sorted(c["name"] for c in answer) == ["city", "ministry", "province"]
    fields = {c["name"]: c["fields"] for c in answer}
    assert "_duplicate_of" in fields["city"] and "_duplicate_of" not in fields["ministry"]

    def urls(collection: str, duplicates: str) -> list[str]:
        answer = service.client.get(
            f"/api/collections/{collection}/items",
            params={"duplicates": duplicates, "count": "true"},
            headers=service.auth,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["count"] == len(body["items"])
        return sorted(d["url"] for d in body["items"])

    assert urls("ministry", "hide") == ["m/1", "m/2"] and urls("ministry", "only") == []
    assert urls("city", "only") == [f"c/{i}" for i in range(4)] and urls("city", "hide") == []
    wrong = service.client.get(
        "/api/collections/city/items", params={"duplicates": "some"}, headers=service.auth
    )
    assert wrong.status_code == 422 and "duplicates must be one of only, hide" in wrong.text


def test_a_cluster_is_bounded(service: Service) -> None:
    store_notices(service)
    service.client.app.state.settings.set("NEAR_DUP_CLUSTER_MAX", 3, priority="cmdline")
    cluster = item(service, "ministry", "m/1")["cluster"]
    assert len(cluster["duplicates"]) == 3 and cluster["more"]
