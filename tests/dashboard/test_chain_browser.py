"""Chained runs in a real headless Chromium against a real ``scrapy serve``: a rule run from its
page, the rule that runs ``after:`` it starts by itself, and its run page shows its chain (the
run that started it, its rule's predecessors), with links."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

# Two one-page rules of the sample site: quick crawls.
TINY = """\
name: {name}
args: {{site: "{site}"}}
item: {{collection: chain_pages}}
start: [{{url: "{{site}}/", page: index}}]
pages:
  index: {{fields: {{title: {{css: "title::text"}}}}}}
"""


def test_a_chained_run_started_from_the_dashboard_shows_its_chain(page, service, workspace):
    workspace.add_rule("chain_list", TINY.format(name="chain_list", site=workspace.site))
    after = "after: {rules: [chain_list], when: [finished, monitor_failed]}\n"
    text = TINY.format(name="chain_detail", site=workspace.site) + after
    workspace.add_rule("chain_detail", text)
    page.goto(f"{service.url}/#/rules/chain_list")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    expect(page.locator("#token-state")).to_have_text("Token set")
    page.locator("#run-now").click()
    expect(page).to_have_url(re.compile(r"#/runs/[^/]+$"), timeout=30_000)
    first = page.url.rsplit("/", 1)[-1]
    # the run's rule is chained: what runs after it, linked to its rule page
    expect(page.locator("#chain-then")).to_have_text("chain_detail")
    assert service.wait_run(first)["status"] in ("finished", "monitor_failed")

    deadline = time.monotonic() + 60
    while not (runs := service.get("/api/runs?rule=chain_detail")["items"]):
        assert time.monotonic() < deadline, "the chained run did not start"
        time.sleep(0.3)
    chained = runs[0]["run_id"]
    page.goto(f"{service.url}/#/runs/{chained}")
    expect(page.locator("#chain-triggered-by")).to_contain_text("chain_list")
    expect(page.locator("#chain-after a")).to_have_attribute("href", "#/rules/chain_list")
    page.locator("#chain-triggered-by a").click()
    expect(page).to_have_url(re.compile(f"#/runs/{first}$"))
    expect(page.locator("#chain-then a")).to_have_attribute("href", "#/rules/chain_detail")
