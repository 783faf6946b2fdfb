"""The overview of many rules in Debian's Chromium: search, a tag filter and paging over a site
table of 120 sites; bulk pause of a page of scheduled rules; the cron editor, which checks the
expression as it is typed, shows the next five times and saves the schedule into the rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.crawler.service.test_service_overview import site_table
from tests.dashboard.service import Service, Workspace
from tests.sample_site import SampleSite


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[Workspace]:
    with SampleSite(books=5) as site:
        workspace = Workspace(tmp_path_factory.mktemp("overview"), site.url)
        workspace.sample_rule("sample_books")
        site_table(workspace.rules, 120)
        yield workspace


@pytest.fixture(scope="module")
def service(workspace) -> Iterator[Service]:
    with Service(workspace) as svc:
        yield svc


def sign_in_with_token(page, service) -> None:
    page.goto(service.url + "/")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    expect(page.locator("#token-state")).to_have_text("Token set")


def test_search_tag_filter_and_paging(page, service):
    page.goto(service.url + "/")
    count = page.locator("#rules-count")
    expect(count).to_have_text("1–50 of 122 (122 rules)")
    expect(page.locator("#rules-table tbody tr")).to_have_count(50)
    page.locator("#rules-next").click()
    expect(count).to_have_text("51–100 of 122 (122 rules)")
    expect(page.locator("#rules-prev")).to_be_enabled()
    page.locator("#rule-search").fill("gov_0042")
    expect(count).to_have_text("1–1 of 1 (122 rules)")
    expect(page.locator("#rules-table tbody tr")).to_have_count(1)
    row = page.locator('#rules-table tr[data-rule="gov_0042"]')
    expect(row).to_contain_text("row 45 of gov.yaml")
    page.locator("#rule-search").fill("")
    page.locator("#rule-tag").select_option("north")
    expect(count).to_have_text("1–50 of 60 (122 rules)")
    page.locator("#rule-status").select_option("invalid")
    expect(page.locator("#rules-table tbody tr")).to_have_count(0)
    expect(page.locator("#rules-none")).to_be_visible()


def test_bulk_pause_of_a_page_of_scheduled_rules(page, service):
    sign_in_with_token(page, service)
    page.locator("#rule-search").fill("gov_000")
    expect(page.locator("#rules-count")).to_have_text("1–10 of 10 (122 rules)")
    page.locator("#pick-page").check()
    expect(page.locator("#bulk-count")).to_have_text("10 selected")
    page.locator("#bulk-pause").click()
    expect(page.locator("p.notice")).to_have_text("Pause: 10 done, 0 failed.")
    for name in ("gov_0000", "gov_0009"):
        expect(page.locator(f'#rules-table tr[data-rule="{name}"]')).to_contain_text("paused")
    answer = page.request.get(service.url + "/api/schedules").json()
    paused = {s["rule"] for s in answer["items"] if s["paused"]}
    assert {f"gov_{i:04d}" for i in range(10)} <= paused
    # a rule without a schedule is reported, the others still resume
    page.locator("#rule-search").fill("gov_001")
    page.locator('#rules-table tr[data-rule="gov_0010"] input.pick').check()
    page.locator("#bulk-pause").click()
    expect(page.locator("p.notice")).to_contain_text(
        "0 done, 1 failed. gov_0010: the rule has no schedule"
    )


def test_the_cron_editor_checks_shows_the_next_five_and_saves(page, service, workspace):
    sign_in_with_token(page, service)
    page.locator("#rule-search").fill("sample_books")
    row = page.locator('#rules-table tr[data-rule="sample_books"]')
    row.locator(".edit-schedule").click()
    dialog = page.locator("#cron-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#cron-next li")).to_have_count(5)
    page.locator("#cron-expr").fill("61 * * * *")
    expect(page.locator("#cron-check")).to_contain_text("invalid cron expression")
    expect(page.locator("#cron-save")).to_be_disabled()
    expect(page.locator("#cron-next li")).to_have_count(0)
    page.locator("#cron-expr").fill("30 6 * * 1-5")
    page.locator("#cron-tz").fill("Asia/Shanghai")
    expect(page.locator("#cron-check")).to_have_text("Valid.")
    expect(page.locator("#cron-next li")).to_have_count(5)
    times = page.locator("#cron-next time").evaluate_all("nodes => nodes.map(n => n.dateTime)")
    assert all(t.endswith("+08:00") and "T06:30:00" in t for t in times), times
    page.locator("#cron-save").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("code")).to_have_text("30 6 * * 1-5")
    expect(page.locator("p.notice")).to_have_text("sample_books: runs on 30 6 * * 1-5")
    text = (workspace.rules / "sample_books.yaml").read_text(encoding="utf-8")
    assert "schedule:\n  cron: 30 6 * * 1-5\n  timezone: Asia/Shanghai\n" in text
    history = page.request.get(service.url + "/api/rules/sample_books/history").json()
    assert history["versions"][0]["message"] == "schedule: 30 6 * * 1-5 (Asia/Shanghai)"


def test_the_editor_saves_with_a_message_diffs_two_versions_and_restores_one(
    page, service, workspace
):
    path = workspace.rules / "sample_books.yaml"
    original = path.read_text(encoding="utf-8")
    page.goto(f"{service.url}/#/rules/sample_books")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    expect(page.locator(".cm-editor")).to_be_visible()
    expect(page.locator("#history-table, #history-none")).to_be_visible()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# edited in the browser\n")
    page.locator("#save-message").fill("a note at the end")
    page.locator("#save").click()
    # a file with no history yet is recorded as it was first, then the save
    rows = page.locator("#history-table tbody tr")
    expect(rows.first).to_contain_text("a note at the end")
    latest = int(rows.first.get_attribute("data-version"))
    expect(page.locator("#editor-status")).to_have_text(f"Saved as version {latest}.")
    page.locator("#diff-a").select_option(str(latest - 1))
    page.locator("#diff-b").select_option(str(latest))
    page.locator("#diff-show").click()
    expect(page.locator("#history-diff .add")).to_contain_text(["+# edited in the browser"])
    # restore the version before the note: the editor shows it, the file is it again
    rows.nth(1).locator("button.restore").click()
    expect(page.locator("#history-status")).to_have_text(
        f"Version {latest - 1} restored as version {latest + 1}."
    )
    expect(rows.first).to_contain_text("restore version")
    expect(page.locator(".cm-content")).not_to_contain_text("# edited in the browser")
    assert path.read_text(encoding="utf-8") == original
