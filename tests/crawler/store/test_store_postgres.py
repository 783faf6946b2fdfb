"""What only the PostgreSQL store has (crawler/store/postgres*.py), against a real server
(tests/dbservers.py): writers racing on the same keys, indexes serving pages (the plans the
reader's own queries get, through auto_explain), trigram search, typed columns and their
migration, credentials kept out of messages. The shared contract runs on it too
(test_store_backends.py, test_store_browse.py, test_store_search.py: the ``postgres`` param)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.store import ItemQuery, UpsertResult, open_store
from crawler.store.postgres import PostgresStore
from crawler.store.postgres_schema import postgres_conninfo, scrubbed


@pytest.fixture
def pg_uri(postgres_server: Any) -> str:
    return postgres_server.new_database()


@pytest.fixture
def pg(pg_uri: str) -> Iterator[PostgresStore]:
    with PostgresStore(pg_uri) as store:
        yield store


def sql(store: PostgresStore, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with store.connection() as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def explained(uri: str) -> tuple[PostgresStore, list[str]]:
    """A store whose connections log the plan of every statement they run (auto_explain, at
    NOTICE level, sequential scans discouraged as on a big table): ``(store, plans)``."""
    from psycopg_pool import ConnectionPool

    plans: list[str] = []

    def configure(conn: Any) -> None:
        conn.autocommit = True
        conn.execute("LOAD 'auto_explain'")
        for name, value in (
            ("auto_explain.log_min_duration", "0"),
            ("auto_explain.log_level", "notice"),
            ("enable_seqscan", "off"),
        ):
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        conn.autocommit = False
        conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))

    pool = ConnectionPool(postgres_conninfo(uri)[0], min_size=1, max_size=1, open=False)
    pool._configure = configure  # type: ignore[attr-defined]  (before it opens)
    return PostgresStore(uri, pool=pool), plans


# -- the scheme and the pool -----------------------------------------------------------------


def test_open_store_picks_postgres_for_both_schemes(pg_uri: str) -> None:
    for uri in (pg_uri, pg_uri.replace("postgresql://", "postgres://", 1)):
        store = open_store(uri)
        assert type(store).__name__ == "PostgresStore"
        with store:
            store.upsert_many("b", [{"url": "u"}], ("url",))
            assert store.count("b") == 1


def test_threads_share_one_pool(pg_uri: str) -> None:
    make = PostgresStore.thread_factory(pg_uri)
    a, b = make(), make()
    assert a._pool is b._pool  # type: ignore[attr-defined]
    with a, b:
        a.upsert_many("b", [{"url": "u"}], ("url",))
        assert b.count("b") == 1
    assert a._pool._closed is False  # type: ignore[attr-defined]  (the factory's, not a store's)
    a._pool.close()  # type: ignore[attr-defined]


# -- writers racing ---------------------------------------------------------------------------


def test_concurrent_writers_neither_deadlock_nor_lose_updates(pg_uri: str) -> None:
    """Four writers (each its own pool, as four processes) upsert overlapping keys in random
    order and batch sizes, with history: every key is new exactly once, and every update left
    exactly one replaced version behind."""
    keys = [f"k{i:03}" for i in range(120)]
    results: list[UpsertResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        total = UpsertResult()
        try:
            with PostgresStore(pg_uri) as store:
                start.wait()
                for round_ in range(6):
                    batch = rng.sample(keys, rng.randint(20, 80))
                    items = [{"url": k, "v": f"{seed}-{round_}"} for k in batch]
                    total += store.upsert_many("race", items, ("url",), history=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        results.append(total)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = sum(results, UpsertResult())
    with PostgresStore(pg_uri) as store:
        stored = store.count("race")
        assert total.new == stored == len({d["url"] for d in store.find("race")})
        assert store.count("race__history") == total.updated


# -- indexes serve pages --------------------------------------------------------------------


def test_after_a_batch_of_new_keys_the_next_is_sent_unread_and_read_when_it_is_not_new(
    pg: PostgresStore,
) -> None:
    """A first run's batches skip the read of their keys (COPY straight away); a batch with a
    stored key is read after all, and counted as any other (history kept)."""
    assert pg.upsert_many("n", [{"url": "a", "v": 1}, {"url": "b", "v": 1}], ("url",)) == (
        UpsertResult(new=2)
    )
    batch = [{"url": "b", "v": 2}, {"url": "c", "v": 1}, {"url": "c", "v": 3}]  # c twice
    assert pg.upsert_many("n", batch, ("url",), history=True) == UpsertResult(new=1, updated=2)
    assert pg.upsert_many("n", [{"url": "d", "v": 1}], ("url",)) == UpsertResult(new=1)
    assert {d["url"]: d["v"] for d in pg.find("n")} == {"a": 1, "b": 2, "c": 3, "d": 1}
    assert [d["v"] for d in pg.item_history("n", '["b"]', 10)] == [1]


def test_an_index_serves_a_filtered_sorted_page_and_the_next(pg_uri: str) -> None:
    with PostgresStore(pg_uri) as store:
        store.upsert_many(
            "b",
            [{"url": f"u{i}", "c": "x" if i % 3 else "y", "p": i % 97} for i in range(3000)],
            ("url",),
        )
        assert store.ensure_index("b", ["c", "p"])
        sql(store, "ANALYZE c_b")
    store, plans = explained(pg_uri)
    with store:
        query = ItemQuery(filters={"c": "x"}, sort="-p", limit=20)
        first = store.page_items("b", query)
        plans.clear()
        second = store.page_items("b", ItemQuery(**{**query.__dict__, "cursor": first.next}))
    assert [d["p"] for d in first.items + second.items] == sorted(
        (d["p"] for d in first.items + second.items), reverse=True
    )
    (plan,) = [p for p in plans if "c_b" in p and "LIMIT" in p]
    assert "Index Scan Backward using x_" in plan, plan
    assert "Sort" not in plan.split("Query Text")[-1].split("\n", 1)[-1], plan


def test_search_is_a_trigram_index_query_in_any_script(pg_uri: str) -> None:
    with PostgresStore(pg_uri) as store:
        store.upsert_many(
            "s",
            [{"url": f"u{i}", "title": f"item {i} 商品{i % 50}"} for i in range(2000)],
            ("url",),
        )
        assert store.ensure_search("s") and not store.ensure_search("nope")
        sql(store, "ANALYZE c_s")
        # in step with writes: an update replaces the text
        store.upsert_many("s", [{"url": "u7", "title": "Green coat 外套"}], ("url",))
    store, plans = explained(pg_uri)
    with store:
        plans.clear()
        page = store.page_items("s", ItemQuery(text="item 1999", count=True))
        assert [d["url"] for d in page.items] == ["u1999"] and page.count == 1
        assert [d["url"] for d in store.page_items("s", ItemQuery(text="外套")).items] == ["u7"]
        assert store.page_items("s", ItemQuery(text="COAT green", count=True)).count == 1
        assert store.page_items("s", ItemQuery(text="品49", count=True)).count == 40
    searches = [p for p in plans if "crawler_item_text" in p and "LIMIT" in p]
    assert searches and "Bitmap Index Scan on s_c_s" in searches[0], searches


# -- typed columns ----------------------------------------------------------------------------


def columns_of(store: PostgresStore, table: str) -> dict[str, str]:
    rows = sql(
        store,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
        (table,),
    )
    return dict(rows)


def test_item_type_fields_become_typed_columns_and_migrate(pg: PostgresStore) -> None:
    pg.declare_columns("books", {"url": "string", "price": "number", "stock": "integer"})
    pg.upsert_many(
        "books",
        [
            {"url": "u1", "price": 9.5, "stock": 3, "_crawled_at": "t"},
            {"url": "u2", "price": "n/a", "stock": 2.0},  # not a number: NULL, not a failure
        ],
        ("url",),
    )
    typed = columns_of(pg, "c_books")
    assert typed["price"] == "double precision" and typed["stock"] == "bigint"
    assert sql(pg, "SELECT url, price, stock FROM c_books ORDER BY url") == [
        ("u1", 9.5, 3),
        ("u2", None, 2),
    ]
    # the item type gains fields (and one changes type): the table follows, old rows filled
    columns = {"url": "string", "price": "number", "stock": "string"}
    pg.declare_columns("books", {**columns, "in_stock": "boolean", "tags": "array"})
    assert columns_of(pg, "c_books")["stock"] == "text"
    pg.upsert_many("books", [{"url": "u3", "in_stock": True, "tags": ["a"]}], ("url",))
    assert sql(pg, "SELECT url, stock, in_stock, tags FROM c_books ORDER BY url") == [
        ("u1", "3", None, None),
        ("u2", "2.0", None, None),
        ("u3", None, True, ["a"]),
    ]
    ((recorded,),) = sql(pg, "SELECT columns FROM _collections WHERE name = 'books'")
    assert recorded == {**columns, "in_stock": "boolean", "tags": "array"}
    # another store of the same database learns nothing new and changes nothing
    with PostgresStore(pg.uri) as other:
        other.declare_columns("books", {"price": "number"})
        assert other.upsert_many("books", [{"url": "u1", "price": 1}], ("url",)).updated == 1
    assert sql(pg, "SELECT price FROM c_books WHERE url = 'u1'") == [(1.0,)]


def test_columns_declared_before_the_collection_exists(pg: PostgresStore) -> None:
    pg.declare_columns("late", {"n": "integer", "_url": "string", "doc": "string"})
    assert pg.table("late") is None
    pg.upsert_many("late", [{"url": "u", "n": 7}], ("url",))
    assert sql(pg, "SELECT n FROM c_late") == [(7,)]
    assert "_url" not in columns_of(pg, "c_late")  # store fields and doc are never columns


def test_a_collection_another_process_drops_and_makes_again_gets_columns_and_index(
    pg_uri: str,
) -> None:
    with PostgresStore(pg_uri) as a, PostgresStore(pg_uri) as b:
        a.declare_columns("c", {"n": "integer"})
        a.upsert_many("c", [{"url": "u", "n": 1, "t": "hello"}], ("url",))
        assert a.ensure_search("c")
        assert b.drop_collection("c")["items"] == 1
        b.upsert_many("c", [{"url": "v", "n": 2, "t": "world"}], ("url",))  # no columns known
        a.upsert_many("c", [{"url": "w", "n": 3, "t": "again"}], ("url",))
        assert sql(a, "SELECT doc ->> 'url', n FROM c_c ORDER BY 1") == [("v", 2), ("w", 3)]
        assert [d["url"] for d in a.page_items("c", ItemQuery(text="world")).items] == ["v"]
        assert sql(a, "SELECT indexname FROM pg_indexes WHERE tablename = 'c_c' AND indexname "
                   "LIKE 's_%%'") == [("s_c_c",)]  # fmt: skip


# -- credentials --------------------------------------------------------------------------------


def test_credentials_never_reach_reprs_or_errors(pg_uri: str) -> None:
    from tests.dbservers import PASSWORD

    store = PostgresStore(pg_uri)
    assert PASSWORD not in repr(store) and PASSWORD not in store.display_uri
    wrong = pg_uri.replace(PASSWORD, "not-the-pw-42")
    with pytest.raises(Exception) as info:
        PostgresStore(wrong).open()
    assert "not-the-pw-42" not in str(info.value) and "password" in str(info.value)
    malformed = pg_uri.replace(PASSWORD, "pw%zzsecret")  # libpq quotes the bad token
    with pytest.raises(Exception) as info:
        PostgresStore(malformed).open()
    assert "zzsecret" not in str(info.value), info.value
    message = "bad token in postgresql://u:hunter2@h/db: hunter2"
    assert "hunter2" not in str(scrubbed(ValueError(message), "postgresql://u:hunter2@h/db"))


def test_nul_characters_are_stored(pg: PostgresStore) -> None:
    a: Callable[[str], dict] = lambda text: {"url": "u", "t": text}  # noqa: E731
    pg.upsert_many("n", [a("a\x00b"), {"url": "w", "t": "\\u0000 stays"}], ("url",))
    assert sorted(d["t"] for d in pg.find("n")) == ["\\u0000 stays", "a\ufffdb"]


def test_the_store_pipeline_declares_its_targets_columns(tmp_path: Path, pg_uri: str) -> None:
    """No crawl: the pipeline, fed items of a target with columns, makes the typed columns;
    the item type gains a field, and the next run migrates the table."""
    from scrapy import Spider

    from crawler.store import StoreTarget
    from tests.crawler.store.test_pipelines import close, item, make_pipeline

    columns: tuple[tuple[str, str], ...] = (("url", "string"), ("title", "string"))

    class TypedSpider(Spider):
        name = "typed"

        def store_target(self, item: dict) -> StoreTarget:
            return StoreTarget("books", ("url",), columns=columns)

    pipeline, _ = make_pipeline(tmp_path, spidercls=TypedSpider, STORE_URI=pg_uri)
    for i in range(3):
        pipeline.process_item(item(i, pages=100 + i))
    close(pipeline)
    columns = (*columns, ("pages", "integer"))
    pipeline, _ = make_pipeline(tmp_path, spidercls=TypedSpider, STORE_URI=pg_uri)
    pipeline.process_item(item(3, pages=7))
    close(pipeline)
    with PostgresStore(pg_uri) as store:
        assert sql(store, "SELECT title, pages FROM c_books ORDER BY url") == [
            ("Book 0", 100),
            ("Book 1", 101),
            ("Book 2", 102),
            ("Book 3", 7),
        ]


def test_a_rule_crawl_stores_its_item_types_fields_as_columns(
    sample_site: str, tmp_path: Path, pg_uri: str
) -> None:
    """End to end: the rule spider's targets carry their item type's fields (book), the
    pipeline declares them, and SQL reads the typed columns of what the crawl stored; the
    password is neither in the crawl's log nor in its run record."""
    from tests.crawler.crawl import crawl
    from tests.dbservers import PASSWORD

    run = crawl("sample_books", tmp_path, "-s", f"STORE_URI={pg_uri}", site=sample_site)
    assert run.returncode == 0, run.log[-3000:]
    leaks = [line for line in run.log.splitlines() if PASSWORD in line]
    assert leaks == []
    with PostgresStore(pg_uri) as store:
        typed = columns_of(store, "c_sample_books")
        assert (typed["price"], typed["rating"], typed["published"]) == (
            "double precision",
            "bigint",
            "text",
        )
        rows = sql(store, "SELECT _key, price, rating FROM c_sample_books WHERE price >= 0")
        assert len(rows) == store.count("sample_books") > 0
        assert PASSWORD not in repr(store.runs()) and store.runs()[0]["status"] == "finished"
        docs = store.get_items("sample_books", [key for key, _, _ in rows])
        assert [(docs[k]["price"], docs[k].get("rating")) for k, _, _ in rows] == [
            (price, rating) for _, price, rating in rows
        ]
