"""The items browser in a real Chromium against a real ``scrapy serve``: a filter narrows the
table, an item shows the diff between its versions (a price the site changed between two
crawls), and the dead letters show their reasons, grouped."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from crawler.store.backends import open_store
from tests.crawler.crawl import crawl
from tests.dashboard.screenshots import price_changes
from tests.sample_site import SampleSite


@pytest.fixture(scope="module")
def two_crawls(workspace, service):
    """Two crawls of a sample site whose every fifth book costs £1 more the second time."""
    state = {"bump": False}
    with SampleSite(books=20, middlewares=[price_changes(state)]) as site:
        results = []
        for bump in (False, True):
            state["bump"] = bump
            result = crawl(
                "sample_books", workspace.root, "-s", f"RULES_DIR={workspace.rules}", site=site.url
            )
            assert result.returncode == 0, result.log[-3000:]
            results.append(result)
    return results


def test_a_filter_and_the_diff_of_an_items_versions(page, service, two_crawls):
    first, second = ({item["_url"]: item for item in r.items} for r in two_crawls)
    url = next(u for u in second if u.endswith("/book/5.html"))
    before, after = first[url], second[url]
    assert after["price"] != before["price"]
    filters = f"f.title={quote(after['title'])}"
    page.goto(f"{service.url}/#/items/sample_books?{filters}")
    rows = page.locator("#items-table tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#item-count")).to_have_text("1 items match")
    rows.get_by_role("button").click()
    expect(page.locator("#item-json")).to_contain_text(f'"title": "{after["title"]}"')
    change = page.locator("#item-diff tr.changed")
    expect(change).to_have_count(1)
    expect(change.locator("th")).to_contain_text("price")
    expect(change.locator("td.before")).to_have_text(str(before["price"]))
    expect(change.locator("td.after")).to_have_text(str(after["price"]))


def test_the_dead_letters_with_their_reasons(page, service, workspace, two_crawls):
    with open_store(workspace.store_uri) as store:
        dead = store.dead_page("sample_books", 100, None).items
    assert dead, "the sample site's broken books should make dead letters"
    page.goto(f"{service.url}/#/items/sample_books?view=dead")
    # grouped by reason: a group per reason, its count, its letters
    rows = page.locator(".dead-table tbody tr")
    expect(rows).to_have_count(len(dead))
    expect(page.locator(".dead-group")).to_have_count(len({d["_reason"] for d in dead}))
    reasons = sorted(page.locator(".dead-group .dead-reason").all_inner_texts())
    assert reasons == sorted({d["_reason"] for d in dead})
    counts = [int(c) for c in page.locator(".dead-group .dead-count").all_inner_texts()]
    assert sum(counts) == len(dead) and counts == sorted(counts, reverse=True)
    assert all(re.search(r"\w", reason) for reason in reasons)


def test_a_near_duplicate_cluster_linked_both_ways_and_the_filter(page, service, workspace):
    """A notice reposted by a province and a city (stored as the store pipeline stores them):
    the repost names the earliest item, which lists both reposts; a filter keeps only them."""
    from crawler.rules.itemtypes import NearDuplicates
    from crawler.store.batches import Batch, Destination
    from crawler.store.neardup_store import NearDupMarker

    story = (
        "The provincial office announces the results of the 2024 survey of rural roads: 412 "
        "kilometres were repaired, the remaining works will be finished before the winter."
    )
    spec, marker = NearDuplicates("notice", ("title", "content"), 0.8), NearDupMarker(100)
    with open_store(workspace.store_uri) as store:
        for collection, url, title, content in (
            ("ministry", "m/1", "Rural roads survey", story),
            ("ministry", "m/2", "Library hours", "The library opens at nine from June on."),
            ("province", "p/1", "Rural roads survey (repost)", story + " Source: ministry."),
            ("city", "c/1", "[Repost] Rural roads survey", "  " + story.upper()),
        ):
            item = {"url": url, "title": title, "content": content}
            destination = Destination(collection, ("url",), near_duplicates=spec)
            marker.upsert(store, Batch(destination, items=[item]))
    page.goto(f"{service.url}/#/items/city?item={quote(json.dumps(['c/1']), safe='')}")
    original = page.locator("#item-original a")
    expect(original).to_have_text("ministry: Rural roads survey")
    original.click()
    expect(page.locator("#item-json")).to_contain_text('"url": "m/1"')
    reposts = page.locator("#item-duplicates li a")
    expect(reposts).to_have_text(
        ["province: Rural roads survey (repost)", "city: [Repost] Rural roads survey"]
    )
    page.goto(f"{service.url}/#/items/ministry")
    page.select_option("#duplicates", "hide")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#item-count")).to_have_text("2 items match")
    page.goto(f"{service.url}/#/items/province?duplicates=only")
    expect(page.locator("#item-count")).to_have_text("1 items match")


def test_an_excel_export_and_an_admin_deleting_a_collection(page, service, workspace, tmp_path):
    """The Excel link downloads the filtered items as a workbook; an admin deletes the
    collection after typing its name, and the items page no longer lists it."""
    from openpyxl import load_workbook

    with open_store(workspace.store_uri) as store:
        items = [{"url": f"s/{i}", "n": i, "note": "=1+1" if i == 2 else "ok"} for i in range(4)]
        store.upsert_many("scratch", items, ("url",))
    page.goto(service.url + "/")
    page.locator("#token").fill(service.token)  # the service's token from the environment: admin
    page.locator("#token").press("Enter")
    expect(page.locator("#token-state")).to_have_text("Token set")
    page.goto(f"{service.url}/#/items/scratch")
    expect(page.locator("#item-count")).to_have_text("4 items match")
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel").click()
    saved = tmp_path / "scratch.xlsx"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "scratch.xlsx"
    rows = list(load_workbook(saved, read_only=True).worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    table = sorted((r[header.index("n")], r[header.index("note")]) for r in rows[1:])
    assert table == [(0, "ok"), (1, "ok"), (2, "'=1+1"), (3, "ok")]

    page.locator("#drop-collection").click()
    expect(page.locator("#drop-yes")).to_be_disabled()
    page.locator("#drop-confirm").fill("scratc")
    expect(page.locator("#drop-yes")).to_be_disabled()
    page.locator("#drop-confirm").fill("scratch")
    page.locator("#drop-yes").click()
    expect(page.locator("#drop-notice")).to_have_text("Deleted scratch: 4 items.")
    expect(page).not_to_have_url(re.compile("scratch"))  # on the collections left
    assert "scratch" not in page.locator("#collection option").all_inner_texts()
    with open_store(workspace.store_uri) as store:
        assert not [n for n in store.collections() if n.startswith("scratch")]
    audit = workspace.root / "service" / "collection-drops.jsonl"
    record = json.loads(audit.read_text(encoding="utf-8").splitlines()[-1])
    assert record["collection"] == "scratch" and record["items"] == 4
