"""Near-duplicate items: signatures and their threshold, items marked as the store writes them
(SQLite and MongoDB on mongomock), signatures read back by a later store, the index's bound,
and the cluster a reader is given."""

from __future__ import annotations

from pathlib import Path

import mongomock
import pytest

from crawler.rules.itemtypes import ItemType, NearDuplicates, load_item_type
from crawler.rules.problems import RuleError
from crawler.store.base import Store
from crawler.store.batches import Batch, Destination
from crawler.store.browse import ItemQuery
from crawler.store.documents import key_text
from crawler.store.mongo import MongoStore
from crawler.store.neardup import (
    NearDupIndex,
    Ref,
    normalise,
    shingle_hashes,
    signature,
    signature_version,
    similarity,
    text_signature,
)
from crawler.store.neardup_store import SIGNATURES, NearDupMarker, duplicate_cluster
from crawler.store.sqlite import SqliteStore

NOTICE = (
    "关于公布2024年第三批高新技术企业认定名单的通知。各有关单位：根据《高新技术企业认定管理办法》"
    "和《高新技术企业认定管理工作指引》的规定，经专家评审、公示等程序，现将2024年第三批拟认定"
    "高新技术企业名单予以公布。请各单位按照有关规定，认真做好相关工作。特此通知。联系电话：010-12345678。"
)
REPOST = (
    "【转载】关于公布2024年第三批高新技术企业认定名单的通知\n各有关单位:根据《高新技术企业认定管理办法》"
    "和《高新技术企业认定管理工作指引》的规定,经专家评审、公示等程序,现将2024年第三批拟认定"
    "高新技术企业名单予以公布。  请各单位按照有关规定，认真做好相关工作。特此通知。联系电话：010-12345678。"
)
# the same template, other facts: another batch, another year, another office
OTHER = (
    "关于公布2023年第一批科技型中小企业入库名单的通知。各有关单位：根据《科技型中小企业评价办法》"
    "的规定，经企业自主评价、省级科技管理部门审核等程序，现将2023年第一批入库的科技型中小企业名单"
    "予以公布。请各单位按照有关规定，认真做好相关工作。特此通知。联系电话：021-87654321。"
)
SPEC = NearDuplicates("notice", ("title", "content"), 0.8)


def notice(url: str, content: str, title: str = "") -> dict:
    return {"url": url, "title": title, "content": content, "_url": url}


def test_a_light_repost_is_alike_and_a_hard_negative_is_not() -> None:
    assert normalise("通知：各单位， 请\u3000知悉！") == normalise("通知:各单位,请知悉")
    original, repost, other = (signature(normalise(t)) for t in (NOTICE, REPOST, OTHER))
    assert similarity(original, repost) >= 0.8
    assert similarity(original, other) < 0.5
    english = "The Ministry of Finance announces the 2024 budget review, open until May 30."
    edited = "REPOST: the ministry of finance announces the 2024 budget review — open until 30 May"
    a, b = signature(normalise(english)), signature(normalise(edited))
    assert 0.5 < similarity(a, b) < 0.9  # a threshold decides: 0.5 finds it, 0.9 does not
    loose, strict = NearDupIndex(0.5), NearDupIndex(0.9)
    for index in (loose, strict):
        index.add(Ref("a", '["1"]', "t1"), a)
    assert loose.match(Ref("b", '["2"]', "t2"), b) == Ref("a", '["1"]', "t1")
    assert strict.match(Ref("b", '["2"]', "t2"), b) is None
    assert text_signature({"title": None, "content": ""}, ["title", "content"]) is None


def test_the_shingles_go_through_datasketch_at_once_as_one_by_one() -> None:
    from datasketch import MinHash

    from crawler.store import neardup

    text = normalise(NOTICE)
    one_by_one = MinHash(
        num_perm=neardup.NUM_PERM, seed=neardup.SEED, hashfunc=int, **neardup.minhash_scheme()
    )
    one_by_one.update_batch(shingle_hashes(text).tolist())
    assert signature(text).tolist() == one_by_one.hashvalues.tolist()


def test_the_item_type_declares_fields_and_threshold() -> None:
    fields = {"title": {"type": "string"}, "content": {"type": "string"}}
    kind = ItemType.from_dict(
        {"name": "notice", "fields": fields, "near_duplicates": {"fields": ["title", "content"]}}
    )
    assert kind.near_duplicates == NearDuplicates("notice", ("title", "content"), 0.8)
    assert ItemType.from_dict({"name": "plain", "fields": fields}).near_duplicates is None
    with pytest.raises(ValueError, match=r"near_duplicates.threshold: 1.5 is greater"):
        ItemType.from_dict(
            {
                "name": "n",
                "fields": fields,
                "near_duplicates": {"fields": ["title"], "threshold": 1.5},
            }
        )


def test_a_wrong_declaration_is_one_line_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "types" / "notice.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: notice\nfields:\n  title: {type: string}\n  content: {type: string}\n"
        "near_duplicates:\n  fields: [title, contnt]\n  threshold: 0.8\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as error:
        load_item_type(path)
    assert str(error.value) == (
        f"{path}:6:19: near_duplicates.fields[1]: 'contnt' is not a declared field "
        "(did you mean 'content'?)"
    )


def sqlite_stores(tmp_path: Path) -> tuple[Store, Store]:
    """Two stores on one file: two processes, one after the other."""
    uri = f"sqlite:///{tmp_path / 'items.db'}"
    return SqliteStore(uri), SqliteStore(uri)


def mongo_stores(tmp_path: Path) -> tuple[Store, Store]:
    client = mongomock.MongoClient()
    uri = "mongodb://mock.invalid/neardup_test"
    return MongoStore(uri, client=client), MongoStore(uri, client=client)


@pytest.fixture(params=["sqlite", "mongo", "postgres"])
def two_stores(request, tmp_path: Path) -> tuple[Store, Store]:
    if request.param == "postgres":  # two processes' stores of one database
        from crawler.store.postgres import PostgresStore

        uri = request.getfixturevalue("postgres_server").new_database()
        first, later = PostgresStore(uri), PostgresStore(uri)
    else:
        first, later = (sqlite_stores if request.param == "sqlite" else mongo_stores)(tmp_path)
    first.open()
    later.open()
    yield first, later
    first.close()
    later.close()


def write(marker: NearDupMarker, store: Store, collection: str, items: list[dict]) -> Batch:
    batch = Batch(Destination(collection, ("url",), near_duplicates=SPEC), items=items)
    marker.upsert(store, batch)
    return batch


def stored(store: Store, collection: str, url: str) -> dict:
    return store.get_item(collection, key_text([url]))


def test_a_repost_links_to_the_earliest_and_a_later_process_finds_it(two_stores) -> None:
    store, later_store = two_stores
    marker = NearDupMarker(max_index=100)
    first = write(marker, store, "ministry", [notice("m/1", NOTICE), notice("m/2", OTHER)])
    assert (first.marks.checked, first.marks.duplicates) == (2, 0)
    second = write(marker, store, "province", [notice("p/7", REPOST)])
    assert (second.marks.checked, second.marks.duplicates) == (1, 1)
    link = {"collection": "ministry", "key": key_text(["m/1"])}
    assert stored(store, "province", "p/7")["_duplicate_of"] == link
    assert "_duplicate_of" not in stored(store, "ministry", "m/1")

    # another process: reads the signatures, never the items; the city's repost of the
    # province's repost links to the earliest item of the cluster, the ministry's
    later = NearDupMarker(max_index=100)
    third = write(later, later_store, "city", [notice("c/3", REPOST + " 来源：省政府网站")])
    assert third.marks.duplicates == 1
    assert stored(later_store, "city", "c/3")["_duplicate_of"] == link
    assert len(later.indexes["notice"]) == 4

    # the same items again: unchanged, compared no more; a changed one is compared again
    again = write(later, later_store, "city", [notice("c/3", REPOST + " 来源：省政府网站")])
    assert (again.marks.checked, again.marks.records) == (0, [])
    changed = write(later, later_store, "province", [notice("p/7", OTHER + "（更新）")])
    assert (changed.marks.checked, changed.marks.duplicates) == (1, 1)
    assert stored(later_store, "province", "p/7")["_duplicate_of"] == {
        "collection": "ministry",
        "key": key_text(["m/2"]),
    }

    # a reader's view: the cluster of the earliest item, and of one of its reposts
    root = stored(later_store, "ministry", "m/1")
    cluster = duplicate_cluster(later_store, "ministry", root["_key"], root, limit=10)
    assert cluster["original"] is None and not cluster["more"]
    assert [(d["collection"], d["key"]) for d in cluster["duplicates"]] == [
        ("city", key_text(["c/3"]))
    ]
    assert cluster["duplicates"][0]["label"] == ""  # the title, empty here
    city = stored(later_store, "city", "c/3")
    mine = duplicate_cluster(later_store, "city", city["_key"], city, limit=10)
    assert (mine["original"]["collection"], mine["duplicates"]) == ("ministry", [])
    none = duplicate_cluster(later_store, "nowhere", '["x"]', {}, limit=10)
    assert none is None


def test_items_stored_before_the_type_compared_are_earlier_items(two_stores) -> None:
    store, _ = two_stores
    store.upsert_many("ministry", [notice("m/1", NOTICE)], ("url",))  # no near_duplicates yet
    marker = NearDupMarker(max_index=100)
    old = write(marker, store, "ministry", [notice("m/1", NOTICE)])  # met again, unchanged
    assert (old.marks.checked, len(old.marks.records)) == (0, 1)
    repost = write(marker, store, "city", [notice("c/1", REPOST)])
    assert stored(store, "city", "c/1")["_duplicate_of"]["collection"] == "ministry"
    assert repost.marks.duplicates == 1


def test_the_index_read_back_is_bounded_to_the_most_recent(two_stores) -> None:
    store, later_store = two_stores
    marker = NearDupMarker(max_index=1000)
    items = [notice(f"m/{i}", f"notice number {i}: " + OTHER[i:]) for i in range(12)]
    for start in range(0, 12, 4):
        write(marker, store, "ministry", items[start : start + 4])
    later = NearDupMarker(max_index=5)
    later.index(later_store, SPEC)
    kept = {entry.ref.key for entry in later.indexes["notice"].entries.values()}
    # the 5 most recent (items of one batch share their time: the last batch and one more)
    assert {key_text([f"m/{i}"]) for i in range(8, 12)} <= kept and len(kept) == 5
    records = list(later_store.iter_items(SIGNATURES, ItemQuery(limit=100)))
    assert len(records) == 12 and {r["v"] for r in records} == {signature_version()}
    assert all(set(r) >= {"sig", "seen", "label"} and "content" not in r for r in records)


def test_near_duplicates_filter_of_a_listing(two_stores) -> None:
    store, _ = two_stores
    marker = NearDupMarker(max_index=100)
    write(marker, store, "ministry", [notice("m/1", NOTICE), notice("m/2", OTHER)])
    write(marker, store, "ministry", [notice("m/3", REPOST)])
    only = store.page_items("ministry", ItemQuery(exists={"_duplicate_of": True}, count=True))
    hide = store.page_items("ministry", ItemQuery(exists={"_duplicate_of": False}, count=True))
    assert [d["url"] for d in only.items] == ["m/3"] and only.count == 1
    assert sorted(d["url"] for d in hide.items) == ["m/1", "m/2"] and hide.count == 2
    got = store.get_items("ministry", [key_text(["m/2"]), key_text(["gone"]), key_text(["m/1"])])
    assert sorted(got) == [key_text(["m/1"]), key_text(["m/2"])]
