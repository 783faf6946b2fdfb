"""The run page's log viewer in a real headless Chromium against a real ``scrapy serve``: a
finished crawl's log with Scrapy's start-up dump folded away until opened, filtered by a minimum
level and by a search (the same lines the service's own filters find), kept at its newest line;
and a running crawl's log followed as lines arrive, or left where the reader scrolled."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from crawler.store.backends import open_store
from tests.crawler.runs.test_logview import LOG

AT_BOTTOM = """() => {
  const box = document.querySelector("#log");
  return box.scrollHeight > box.clientHeight
    && box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
}"""


def records(service, run_id: str, **params: str) -> list[dict]:
    """The run's whole log as the service parses it (a small log: one page)."""
    query = urllib.parse.urlencode({"format": "records", **params})
    answer = service.get(f"/api/runs/{run_id}/log?{query}")
    assert answer["offset"] == answer["size"], "more than one page: read them all"
    return answer["records"]


def offsets(page, selector: str) -> list[int]:
    return [
        int(o) for o in page.locator(selector).evaluate_all("rs => rs.map(r => r.dataset.offset)")
    ]


@pytest.fixture(scope="module")
def crawled(workspace, service) -> dict:
    """One crawl of the sample site, run as a user runs it: its run record."""
    result = workspace.crawl("sample_books")
    assert result.returncode == 0, result.log[-3000:]
    with open_store(workspace.store_uri) as store:
        record = store.runs(rule="sample_books", limit=1)[0]
    assert record.get("log_file"), record
    return record


def test_a_finished_runs_log_folded_filtered_and_searched(page, service, crawled):
    run_id = crawled["run_id"]
    whole = records(service, run_id)
    folded = [r for r in whole if r["startup"]]
    warned = [r for r in whole if r["level"] == "WARNING"]
    assert folded and warned and len(whole) > len(folded) + len(warned)
    page.goto(f"{service.url}/#/runs/{run_id}")
    log = page.locator("#log")
    expect(log).to_contain_text("Spider closed (finished)")
    count = page.locator("#log-count")
    expect(count).to_have_text(f"{len(whole)} of {len(whole)} lines shown")
    # Follow (on by default) leaves the newest line in view once the log is read
    assert page.evaluate(AT_BOTTOM)

    # the start-up dump is folded away: its lines are there but not shown until opened
    startup = page.locator("#log-startup")
    expect(startup.locator("summary")).to_have_text(f"Start-up: {len(folded)} lines")
    extensions = startup.locator(".log-line", has_text="Enabled extensions:")
    expect(extensions).to_have_count(1)
    expect(extensions).to_be_hidden()
    expect(page.locator("#log-lines .log-line", has_text="Spider opened")).to_be_visible()
    assert offsets(page, "#log-startup .log-line") == [r["offset"] for r in folded]
    startup.locator("summary").click()
    expect(extensions).to_be_visible()
    # one record, its continuation lines with it
    expect(extensions).to_contain_text("'crawler.runs.recorder.RunRecorder'")
    startup.locator("summary").click()
    expect(extensions).to_be_hidden()

    # a minimum level: INFO lines go, warnings stay and stand out
    info_colour = page.locator('#log-lines .log-line[data-level="INFO"]').first.evaluate(
        "r => getComputedStyle(r).color"
    )
    page.locator("#log-level").select_option("WARNING")
    expect(page.locator('#log .log-line[data-level="INFO"]')).to_have_count(0)
    shown = page.locator('#log .log-line[data-level="WARNING"]')
    expect(shown).to_have_count(len(warned))
    expect(shown.first).to_be_visible()
    assert shown.first.evaluate("r => getComputedStyle(r).color") != info_colour
    expect(startup).to_be_hidden()  # no warning in the dump: nothing to fold
    expect(count).to_have_text(f"{len(warned)} of {len(whole)} lines shown")
    assert offsets(page, "#log .log-line") == [
        r["offset"] for r in records(service, run_id, level="WARNING")
    ]

    # a search, whatever the case: only the lines holding it, the words marked as written
    page.locator("#log-level").select_option("")
    page.locator("#log-search").fill("SPIDER CLOSED")
    lines = page.locator("#log .log-line")
    expect(lines).to_have_count(1)
    expect(lines).to_contain_text("Spider closed (finished)")
    expect(lines.locator("mark")).to_have_text("Spider closed")
    expect(count).to_have_text(f"1 of {len(whole)} lines shown")
    page.locator("#log-search").fill("404")
    found = records(service, run_id, q="404")
    assert found
    expect(lines).to_have_count(len(found))
    assert offsets(page, "#log .log-line") == [r["offset"] for r in found]
    page.locator("#log-search").fill("")
    expect(count).to_have_text(f"{len(whole)} of {len(whole)} lines shown")
    expect(extensions).to_be_hidden()


def record_run(workspace, run: dict) -> None:
    with open_store(workspace.store_uri) as store:
        store.record_run(run)


def test_a_running_crawls_log_followed_as_lines_arrive(page, service, workspace):
    """A crawl whose record says it runs: its log file grows, the page's event stream says so,
    and the viewer reads the new records (their levels parsed by the service)."""
    head, _, _ = LOG.partition("2026-03-02 09:15:02 [scrapy.core.engine] INFO: Spider opened\n")
    log_file = workspace.root / "live-logs" / "live.log"
    log_file.parent.mkdir(exist_ok=True)
    log_file.write_text(head, encoding="utf-8")
    started = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    run = {"run_id": "live-log", "rule": "sample_books", "started_at": started}
    record_run(workspace, {**run, "status": "running", "log_file": str(log_file)})
    page.goto(f"{service.url}/#/runs/live-log")
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#log-startup summary")).to_have_text("Start-up: 10 lines")

    def write(lines: list[str]) -> None:
        with log_file.open("a", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)

    at = "2026-03-02 09:15:03"
    write([f"{at} [scrapy.core.engine] INFO: Spider opened"])
    for batch in range(3):  # lines arrive while the page is open: it keeps the newest in view
        write([f"{at} [books] INFO: page {batch}-{i}" for i in range(25)])
        newest = page.locator("#log-lines .log-line", has_text=f"page {batch}-24")
        expect(newest).to_be_visible()
        page.wait_for_function(AT_BOTTOM)
    write([f"{at} [books] WARNING: a warning while following"])
    expect(page.locator(".log-line.log-warning").last).to_contain_text("a warning while following")
    page.wait_for_function(AT_BOTTOM)

    # Follow off: new lines are read, and the reader's scroll position is kept
    page.locator("#log-follow").uncheck()
    page.locator("#log").evaluate("box => { box.scrollTop = 0; }")
    write([f"{at} [books] INFO: late {i}" for i in range(25)])
    expect(page.locator("#log-lines .log-line", has_text="late 24")).to_have_count(1)
    page.wait_for_timeout(500)
    assert page.locator("#log").evaluate("box => box.scrollTop") == 0
    page.locator("#log-follow").check()  # on again: to the newest line at once
    page.wait_for_function(AT_BOTTOM)

    # the crawl ends: the rest of its log is read, and nothing twice
    write([f"{at} [scrapy.core.engine] INFO: Spider closed (finished)"])
    record_run(workspace, {**run, "log_file": str(log_file), "finish_reason": "finished"})
    expect(page.locator("#run-status")).to_have_text("finished", timeout=30_000)
    expect(page.locator("#log")).to_contain_text("Spider closed (finished)")
    whole = records(service, "live-log")
    expect(page.locator("#log-count")).to_have_text(f"{len(whole)} of {len(whole)} lines shown")
    # every record once (the start-up dump's folded apart from the rest)
    assert sorted(offsets(page, "#log .log-line")) == [r["offset"] for r in whole]
