"""The items browser for daily work in a real Chromium against a real ``scrapy serve``: URLs and
keys shown decoded (links still to the encoded URL), no sideways scrolling at 1280 and 800 px,
the columns chosen and remembered, dead letters grouped by reason with the failing field linked
to its rule line, and the items one run stored new or updated, with the diff."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import quote

from playwright.sync_api import expect

from crawler.store.backends import open_store

ENCODED = "https://例子.cn/%E6%96%B0%E9%97%BB/%E4%B8%80"
WIDE = "x" * 3000  # one word, no place to break


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_decoded_urls_no_sideways_scroll_and_chosen_columns(page, service, workspace):
    with open_store(workspace.store_uri) as store:
        store.upsert_many(
            "news",
            [
                {"url": ENCODED, "_url": ENCODED, "title": "一", "body": WIDE, "a": 1, "b": 2},
                {"url": ENCODED.replace("E4%B8%80", "E4%BA%8C"), "title": "二", "body": "short"},
            ],
            ("url",),
        )
    page.goto(f"{service.url}/#/items/news")
    link = page.locator("#items-table td.url a").first
    expect(link).to_have_text("https://例子.cn/新闻/一")
    assert "%E6%96%B0%E9%97%BB" in link.get_attribute("href")
    expect(page.locator("#items-table tbody th button").first).to_contain_text("新闻/一")
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        expect(page.locator("#items-table")).to_be_visible()
        assert _fits(page), f"the items page scrolls sideways at {width} px"
    page.locator("#items-table tbody th button").first.click()
    expect(page.locator("#item-url")).to_have_text("https://例子.cn/新闻/一")
    assert _fits(page), "the item's detail makes the page scroll sideways at 800 px"
    page.set_viewport_size({"width": 1280, "height": 900})

    # Five columns by default; unticking one puts the choice in the address and remembers it.
    headers = page.locator("#items-table thead th")
    expect(headers).to_have_count(7)  # key, five fields, updated
    page.locator("#column-chooser summary").click()
    page.locator("#column-chooser input[value=body]").uncheck()
    expect(headers).to_have_count(6)
    assert "cols=url%2Ctitle%2Ca%2Cb" in page.url
    page.locator("#column-chooser input[value=b]").uncheck()  # still open after the first
    expect(headers).to_have_count(5)
    expect(page.locator("#items-table thead")).not_to_contain_text("body")
    page.goto(f"{service.url}/#/items/news?view=items")
    expect(headers).to_have_count(5)  # remembered for the collection
    page.goto(f"{service.url}/#/items/news?cols=title")
    expect(headers).to_have_count(3)  # the address wins: a view can be linked


def test_dead_letters_grouped_by_reason_with_the_field_at_its_rule_line(page, service, workspace):
    letters = [
        ({"_url": f"{ENCODED}/{i}", "_rule": "sample_books", "_page": "book", "title": "T",
          "price": None, "_errors": ["price: None is not of type 'number'"]},
         "price: None is not of type 'number'")
        for i in range(3)
    ] + [({"_url": "https://x.cn/b", "_rule": "sample_books", "title": None,
           "_errors": ["title: is required"]}, "title: is required")]  # fmt: skip
    with open_store(workspace.store_uri) as store:
        store.dead_letter("deadnews", [d for d, _ in letters], [r for _, r in letters])
    page.goto(f"{service.url}/#/items/deadnews?view=dead")
    groups = page.locator(".dead-group")
    expect(groups).to_have_count(2)
    first = groups.first
    expect(first.locator(".dead-count")).to_have_text("3")
    expect(first.locator(".dead-reason")).to_have_text("price: None is not of type 'number'")
    expect(first.locator(".dead-table tbody tr")).to_have_count(3)
    expect(first.locator(".dead-table td.url a").first).to_contain_text("例子.cn/新闻/一/")
    field = first.locator("a.dead-field")
    expect(field).to_contain_text("price")
    href = field.get_attribute("href")
    line = int(href.rsplit("line=", 1)[1])
    rule = (workspace.rules / "sample_books.yaml").read_text("utf-8").splitlines()
    assert href.startswith("#/rules/sample_books?line=")
    assert rule[line - 1].strip().startswith("price:")
    expect(groups.nth(1).locator(".dead-table tbody tr")).to_have_count(1)
    page.set_viewport_size({"width": 800, "height": 900})
    assert _fits(page), "the dead letters scroll sideways at 800 px"


def test_the_items_one_run_stored_new_or_updated(page, service, workspace):
    key = ("url",)
    with open_store(workspace.store_uri) as store:
        old = [{"url": f"https://x.cn/{i}", "price": 1, "_crawled_at": "2020-01-01T00:00:00"}
               for i in range(2)]  # fmt: skip
        store.upsert_many("runnews", old, key, history=True)
        time.sleep(0.01)  # the run starts after those were first seen (the store has ms)
        started = datetime.now(UTC)
        now = started.isoformat(timespec="seconds")
        store.upsert_many(
            "runnews",
            [{**old[0], "price": 2, "_crawled_at": now},
             {"url": ENCODED, "price": 5, "_crawled_at": now}],
            key, history=True,
        )  # fmt: skip
        store.record_run(
            {"run_id": "run-changes-1", "rule": "sample_books", "status": "finished",
             "started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat()}
        )  # fmt: skip
    page.goto(f"{service.url}/#/runs/run-changes-1/changes?collection=runnews")
    expect(page.locator("#changes-count")).to_contain_text("1 new, 1 updated")
    rows = page.locator("#changes-table > tbody > tr")
    expect(rows).to_have_count(2)
    expect(page.locator("tr.change-new .change-key")).to_have_text("https://例子.cn/新闻/一")
    updated = page.locator("tr.change-updated")
    updated.locator("summary").click()
    expect(updated.locator("tr.changed td.before")).to_have_text("1")
    expect(updated.locator("tr.changed td.after")).to_have_text("2")
    page.set_viewport_size({"width": 800, "height": 900})
    assert _fits(page), "a run's changes scroll sideways at 800 px"
    page.locator("tr.change-new .change-key").click()
    expect(page.locator("#item-key")).to_have_text("https://例子.cn/新闻/一")
    assert quote(ENCODED, safe="") not in page.locator("#item-key").inner_text()


def test_the_editor_describes_the_current_text_not_an_older_answer(page, service):
    """An answer of the compiler for an older text that arrives last is dropped: the verdict
    stays the one of the text in the editor. ``?line=`` opens the rule at that line."""
    held: list = []
    holding = {"on": False}

    def validate(route):
        if holding["on"]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/rules/validate", validate)
    page.goto(f"{service.url}/#/rules/sample_books?line=1")
    expect(page.locator(".cm-editor")).to_be_visible()
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    valid = "Valid: the compiler found no problem."
    expect(page.locator("#verdict")).to_have_text(valid, timeout=15_000)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    holding["on"] = True
    page.keyboard.type("bogus_key: 1\n")  # an error, its answer held back
    expect(page.locator("#verdict")).to_have_text("Checking…")
    while len(held) < 1:
        page.wait_for_timeout(100)
    for _ in range(len("bogus_key: 1\n")):
        page.keyboard.press("Backspace")  # the rule as it was: valid
    while len(held) < 2:
        page.wait_for_timeout(100)
    held[1].continue_()
    expect(page.locator("#verdict")).to_have_text(valid)
    held[0].continue_()  # the older text's errors arrive last
    page.wait_for_timeout(700)
    expect(page.locator("#verdict")).to_have_text(valid)
    expect(page.locator("#problems li")).to_have_count(0)
