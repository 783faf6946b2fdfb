"""A backend of the project's own in STORE_BACKENDS serves every component of a crawl: the store
pipeline, the run recorder, the monitors (reading earlier runs) and push (reading the change
feed), each built through the one crawl store constructor (crawler.store.crawl_store)."""

from __future__ import annotations

import json

from tests.crawler.crawl import crawl_sample_books, sample_rules_with
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread
from tests.crawler.store.recording_store import SCHEME, RecordingStore, builders

BACKENDS = json.dumps({SCHEME: "tests.crawler.store.recording_store.RecordingStore"})


def test_every_component_of_a_crawl_uses_the_configured_backend(tmp_path, make_sample_site):
    site = make_sample_site(books=6).url
    rules = sample_rules_with(tmp_path, "monitors", "{min_items: 1, max_item_drop: 0.9}")
    sample = rules / "sample_books.yaml"
    sample.write_text(
        sample.read_text(encoding="utf-8").replace(
            "\nstart:", "\npush: {sinks: [webhook], batch_size: 4}\nstart:", 1
        ),
        encoding="utf-8",
    )
    db = tmp_path / "custom" / "items.db"
    settings = (
        f"STORE_BACKENDS={BACKENDS}",
        f"STORE_URI={SCHEME}:///{db}",
        f"PUSH_DIR={tmp_path / 'push'}",
        "PUSH_INTERVAL=0.1",
        "PUSH_SETTLE=0.2",
    )
    receiver = HttpReceiver()
    server = ServerThread(receiver)
    server.start()
    try:
        runs = [
            crawl_sample_books(
                tmp_path,
                rules,
                site,
                *settings,
                env={
                    "PUSH_WEBHOOK_URL": f"{receiver.url}/items",
                    "PUSH_WEBHOOK_SECRET": "s3cret-x",
                },
            )  # fmt: skip
            for _ in range(2)
        ]
    finally:
        server.stop()
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert set(builders(db)) == {
        "crawler.store.store_pipeline",
        "crawler.runs.recorder",
        "crawler.monitors.extension",
        "crawler.push.pusher",
    }
    with RecordingStore(f"{SCHEME}:///{db}") as store:
        records = store.runs(rule="sample_books", limit=5)
        assert store.count("sample_books") >= 6
    assert [r["status"] for r in records] == ["finished", "finished"]
    assert records[0]["store_uri"] == f"{SCHEME}:///{db}"
    results = {r["name"]: r for r in records[0]["stats"]["monitors/results"]}
    drop = results["max_item_drop"]  # the second run compared with the first, read back
    assert drop["ok"] is True and not drop["message"].startswith("skipped"), drop
    pushed = {e["key"] for r in receiver.requests for e in r.json["items"]}
    assert len(pushed) >= 6
