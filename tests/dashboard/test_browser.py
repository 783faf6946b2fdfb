"""The dashboard in a real headless Chromium against a real ``scrapy serve``: the overview shows
the runs of a crawl the test performed, the editor shows a broken rule's error at its line, a
fixed rule is saved and run from the page, the run page follows a crawl live, and a crawl run
from the overview has one id in the page, the API, the CLI and its log files."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crawler.store.backends import open_store
from tests.crawler.crawl import scrapy
from tests.dashboard.browser import VIEWPORT, watch_csp

# Monitors the slow crawl passes: its page shows their results.
MONITORS = "monitors:\n  min_items: 10\n  finish_reasons: [finished]\n"
# The sample rule with one typo: line and column come from `scrapy validate`, not from here.
TYPO = ("clean: [collapse_whitespace]}", "clean: [collapse_whitespac]}")


def store_runs(uri: str, rule: str | None) -> list[dict]:
    with open_store(uri) as store:
        return store.runs(rule=rule, limit=50)


def store_run(uri: str, run_id: str) -> dict:
    """The crawl's own record of a run the service started (its id is in the record's stats)."""
    with open_store(uri) as store:
        record = store.get_run(run_id)
    assert record is not None, f"no run record for {run_id}"
    return record


@pytest.fixture(scope="module")
def crawled(workspace, service):
    """One crawl of the sample site, run by the test the way a user runs it."""
    result = workspace.crawl("sample_books")
    assert result.returncode == 0, result.log[-3000:]
    assert len(result.items) >= 20
    (record,) = store_runs(workspace.store_uri, "sample_books")
    return record


def test_overview_shows_the_runs_of_a_crawl(page, service, workspace, crawled):
    page.goto(service.url + "/")
    row = page.locator(f'#runs-table tr[data-run="{crawled["run_id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator("td").nth(0)).to_have_text("sample_books")
    expect(row).to_contain_text("finished")
    expect(row.locator("td").nth(4)).to_have_text(str(crawled["items"]))
    rule_row = page.locator('#rules-table tr[data-rule="sample_books"]')
    expect(rule_row.locator("td").nth(2)).to_have_text(str(crawled["items"]))
    runs = store_runs(workspace.store_uri, None)
    expect(page.locator("#runs-chart")).to_have_attribute("data-points", str(len(runs)))
    expect(page.locator("#runs-chart svg")).to_be_visible()
    # the run links to its page, which shows the recorded counters
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"#/runs/{crawled['run_id']}$"))
    items = page.locator('#counters [data-counter="items"] dd')
    expect(items).to_have_text(str(crawled["items"]))


def broken_rule(workspace) -> tuple[str, int, int]:
    """Write rule sample_broken (the sample rule with a typo); its error's line and column as
    `scrapy validate` reports them."""
    text = (workspace.rules / "sample_books.yaml").read_text(encoding="utf-8")
    assert TYPO[0] in text
    text = text.replace(TYPO[0], TYPO[1], 1).replace("name: sample_books", "name: sample_broken")
    path = workspace.add_rule("sample_broken", text)
    proc = scrapy("validate", "-s", f"RULES_DIR={workspace.rules}", "sample_broken")
    assert proc.returncode != 0
    match = re.search(rf"{re.escape(str(path))}:(\d+):(\d+): (.*unknown cleaner.*)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    return match.group(3), int(match.group(1)), int(match.group(2))


def test_editor_shows_a_broken_rules_error_at_its_line(page, service, workspace):
    message, line, column = broken_rule(workspace)
    page.goto(f"{service.url}/#/rules/sample_broken")
    problem = page.locator(f'#problems li.error[data-line="{line}"][data-column="{column}"]')
    expect(problem).to_contain_text("unknown cleaner 'collapse_whitespac'")
    expect(page.locator("#problems li")).to_have_count(1)
    expect(page.locator("#verdict")).to_have_text("1 errors, 0 warnings")
    # jumping to the problem puts the cursor on that line, underlined, with a gutter marker
    problem.get_by_role("button").click()
    expect(page.locator(".cm-activeLineGutter").first).to_have_text(str(line))
    expect(page.locator(".cm-activeLine .cm-lintRange-error")).to_have_text("collapse_whitespac")
    expect(page.locator(".cm-lint-marker-error")).to_have_count(1)
    assert message.split(": ", 1)[-1] in problem.inner_text()


def test_a_fixed_rule_is_saved_and_run_from_the_page(page, service, workspace):
    _, line, column = broken_rule(workspace)
    path = workspace.rules / "sample_broken.yaml"
    page.goto(f"{service.url}/#/rules/sample_broken")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    expect(page.locator("#token-state")).to_have_text("Token set")
    problem = page.locator(f'#problems li[data-line="{line}"]')
    problem.get_by_role("button").click()  # the cursor goes to the typo
    for _ in range(len("collapse_whitespac")):
        page.keyboard.press("ArrowRight")
    page.keyboard.type("e")
    expect(page.locator("#verdict")).to_have_text("Valid: the compiler found no problem.")
    expect(page.locator("#problems li")).to_have_count(0)
    expect(page.locator("#run-now")).to_be_disabled()  # unsaved
    page.locator("#save").click()
    expect(page.locator("#editor-status")).to_contain_text("Saved")
    assert TYPO[0] in path.read_text(encoding="utf-8")
    # the file as it was, then the save: versions of the rule, kept with the data, not in rules/
    history = page.request.get(f"{service.url}/api/rules/sample_broken/history").json()
    assert [v["id"] for v in history["versions"]] == [2, 1]
    first = page.request.get(f"{service.url}/api/rules/sample_broken/history/1").json()
    assert TYPO[1] in first["yaml"] and not (workspace.rules / ".history").exists()

    page.locator("#run-now").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"), timeout=30_000)
    run_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#run-status")).to_have_text("finished", timeout=120_000)
    record = store_run(workspace.store_uri, run_id)
    assert record["rule"] == "sample_broken"
    assert record["items"] >= 20
    expect(page.locator('#counters [data-counter="items"] dd')).to_have_text(str(record["items"]))
    expect(page.locator("#log")).to_contain_text("Spider closed (finished)")


def test_the_run_page_follows_a_crawl_live(page, service, workspace, make_sample_site):
    slow = make_sample_site(books=30, latency=0.15)  # about 40 pages, one at a time: 6 s
    text = (workspace.rules / "sample_books.yaml").read_text(encoding="utf-8")
    text = text.replace(workspace.site, slow.url).replace("name: sample_books", "name: sample_slow")
    extra = "settings:\n  CONCURRENT_REQUESTS: 1\n" + MONITORS
    workspace.add_rule("sample_slow", text + extra)
    run_id = service.post("/api/rules/sample_slow/run", {"args": {}})["run_id"]
    page.goto(f"{service.url}/#/runs/{run_id}")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.get_by_role("status").first).to_contain_text("following it live")

    pages = page.locator('#counters [data-counter="pages"] dd')
    seen_pages, seen_lines = set(), set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and page.locator("#run-status").inner_text() == "running":
        seen_pages.add(pages.inner_text())
        seen_lines.add(page.locator("#log").inner_text().count("\n"))
        page.wait_for_timeout(300)
    # counters and log grew while the crawl ran, on a page that was never reloaded
    assert len(seen_pages) >= 3, seen_pages
    assert len(seen_lines) >= 3, seen_lines
    expect(page.locator("#run-status")).to_have_text("finished", timeout=60_000)
    assert page.evaluate("window.notReloaded") is True
    service.wait_run(run_id)
    record = store_run(workspace.store_uri, run_id)
    expect(page.locator('#counters [data-counter="pages"] dd')).to_have_text(str(record["pages"]))
    expect(page.locator("#log")).to_contain_text("Spider closed (finished)")
    # the finished run's coverage per page type (and item type) and monitor results, as the
    # crawl recorded them
    coverage, by_type = record["coverage"], record["coverage_item_types"]
    assert coverage and by_type, record
    expect(page.locator("#coverage table[data-page-type]")).to_have_count(len(coverage))
    expect(page.locator("#coverage table[data-item-type]")).to_have_count(len(by_type))
    for kind, groups in (("page-type", coverage), ("item-type", by_type)):
        for name, entry in groups.items():
            table = page.locator(f'#coverage table[data-{kind}="{name}"]')
            expect(table.locator("caption")).to_contain_text(name)
            expect(table.locator("tbody tr")).to_have_count(len(entry["fields"]))
            for field, share in entry["fields"].items():
                row = table.locator(f'tr[data-field="{field}"]')
                expect(row).to_contain_text(f"{round(share * 100, 1):g}%")
    results = record["stats"]["monitors/results"]
    assert len(results) >= 2 and all(r["ok"] for r in results), results
    expect(page.locator("#monitors li")).to_have_count(len(results))
    expect(page.locator("#monitors .badge-ok")).to_have_count(len(results))


def test_a_run_from_the_dashboard_has_one_id_and_moves_from_its_first_seconds(
    page, service, workspace, make_sample_site
):
    slow = make_sample_site(books=30, latency=0.15)  # about 40 pages, one at a time: 6 s
    text = (workspace.rules / "sample_books.yaml").read_text(encoding="utf-8")
    text = text.replace(workspace.site, slow.url).replace("name: sample_books", "name: sample_id")
    # a limit gives the crawl a known total: the page shows a progress bar against it
    workspace.add_rule(
        "sample_id", text + "settings:\n  CONCURRENT_REQUESTS: 1\n  CLOSESPIDER_PAGECOUNT: 30\n"
    )
    page.goto(service.url + "/")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    page.locator('#rules-table tr[data-rule="sample_id"]').get_by_role(
        "button", name="Run now"
    ).click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"), timeout=30_000)
    run_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#run-status")).to_have_text("running")

    # from its first seconds: the duration ticks, then the counters move, within 2 s each
    duration = page.locator("#run-duration")
    expect(duration).not_to_have_text(duration.inner_text(), timeout=2_000)
    pages = page.locator('#counters [data-counter="pages"] dd')
    expect(pages).not_to_have_text("0", timeout=30_000)
    expect(pages).not_to_have_text(pages.inner_text(), timeout=2_000)
    expect(page.locator('#counters [data-counter="rate"] dd')).not_to_have_text("—")
    bar = page.locator("#run-progress progress")
    expect(bar).to_have_attribute("max", "30")
    assert 0 < int(bar.evaluate("b => b.value")) <= 30
    expect(page.locator("#run-progress")).to_contain_text("of 30 pages")
    expect(page.locator('#counters [data-counter="eta"] dd')).not_to_have_text("—")
    expect(page.locator("#run-status")).to_have_text("finished", timeout=120_000)

    # the same id in the API, the CLI and the names of its log files
    record = service.wait_run(run_id)
    assert record["run_id"] == run_id and record["status"] == "finished"
    uri = workspace.store_uri
    runs = store_runs(uri, "sample_id")
    assert [r["run_id"] for r in runs] == [run_id]  # one record, under that id
    listed = scrapy("store", "runs", "--rule", "sample_id", "--json", "--store", uri)
    assert [json.loads(line)["run_id"] for line in listed.stdout.splitlines()] == [run_id]
    table = scrapy("store", "runs", "--rule", "sample_id", "--store", uri)
    assert table.stdout.splitlines()[1].split()[0] == run_id[:8]
    shown = scrapy("store", "log", run_id, "--store", uri)
    assert shown.returncode == 0 and "Spider closed (closespider_pagecount)" in shown.stdout
    assert Path(record["log_file"]).name.endswith(f"-{run_id[:8]}.log")
    own_log = Path(store_run(uri, run_id)["stats"]["run/log_file"])  # the crawl's RUN_LOG_DIR file
    assert own_log.name.endswith(f"-{run_id[:8]}.log") and own_log.is_file()
    # and the page, once finished, shows what the API gives
    expect(page.locator('#counters [data-counter="pages"] dd')).to_have_text(str(record["pages"]))
    expect(page.locator('#counters [data-counter="errorRate"] dd')).to_have_text(
        f"{round(record['error_rate'] * 100, 1):g}%"
    )


def test_the_dashboard_works_under_its_content_security_policy(browser, service, workspace):
    """The service sends a strict policy (no inline script, styles by nonce, no framing): the
    overview, the items page and the editor (CodeMirror's styles) work under it with no
    violation, while an inline script a page tries is refused and reported."""
    workspace.sample_rule("sample_books")
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    watch_csp(page, problems)
    try:
        answer = page.goto(f"{service.url}/")
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"
        page.goto(f"{service.url}/#/rules/sample_books")
        editor = page.locator(".cm-editor")
        expect(editor).to_be_visible(timeout=20_000)  # a loaded machine: as the page fixture's
        # CodeMirror's own stylesheet (a <style> with the page's nonce) applies: without it the
        # editor and its gutters would be plain blocks
        expect(editor).to_have_css("display", "flex")
        expect(page.locator(".cm-gutters")).to_have_css("display", "flex")
        page.goto(f"{service.url}/#/proxies")
        page.wait_for_timeout(500)
        assert problems == [], problems
        # the watch sees a violation when there is one: an inline script is refused
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.ran = 1'; document.body.append(s); }"
        )
        page.wait_for_timeout(300)
        assert page.evaluate("window.ran") is None
        assert any("script-src" in p for p in problems), problems
    finally:
        context.close()
