"""Fixtures of the browser tests: a headless Chromium, a workspace in a temporary directory with
the sample rule pointed at the sample site, a real ``scrapy serve`` over it, and a page that
fails the test on any script error, any Content-Security-Policy violation or any request leaving
the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard.browser import VIEWPORT, chromium, require_chromium, watch_csp
from tests.dashboard.service import DIST, NOT_BUILT, Service, Workspace
from tests.sample_site import SampleSite


# Module scope, not session: while Playwright's sync API is open, the main thread counts as
# running an asyncio loop, and later tests that call asyncio.run() there would fail.
@pytest.fixture(scope="module")
def browser():
    require_chromium()
    assert (DIST / "index.html").exists(), NOT_BUILT
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[Workspace]:
    """A workspace whose sample rule crawls a small sample site of its own (20 books: fast)."""
    with SampleSite(books=20) as site:
        workspace = Workspace(tmp_path_factory.mktemp("dashboard"), site.url)
        workspace.sample_rule("sample_books")
        yield workspace


@pytest.fixture(scope="module")
def service(workspace) -> Iterator[Service]:
    # LOGSTATS_INTERVAL is passed on to the crawls the service starts: a progress line a second.
    with Service(workspace, "-s", "SERVICE_EVENTS_POLL=0.2", "-s", "LOGSTATS_INTERVAL=1") as svc:
        yield svc


@pytest.fixture
def page(browser, service):
    """A fresh English page on the service; script errors and foreign requests fail the test."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    watch_csp(page, problems)
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((service.url + "/", "data:"))
            else problems.append(f"request outside the service: {request.url}")
        ),
    )
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not problems, problems
