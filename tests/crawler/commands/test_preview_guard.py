"""``scrapy preview`` keeps the address policy of crawls and takes only the rule's arguments
(issue 21): the data service runs it on URLs an editor posts, so it must not be a way into the
services beside the crawler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crawler.crawl import scrapy
from tests.crawler.render.hostile import Server, html, redirect, servers
from tests.crawler.render.support import rules_dir
from tests.dashboard.browser import require_chromium

RULE = """\
name: peek
args: {site: null}
start:
  - {url: "{site}/", page: page}
pages:
  page:
    fields:
      title: {css: "title::text"}
"""
SECRET = "<title>SECRET</title>"


@pytest.fixture
def two() -> Iterator[tuple[Server, Server]]:
    site = {
        "/": html("<p>fine</p>"),
        "/to-other": redirect("{other}/secret.html"),
        "/js-nav.html": html('<script>location.href = "{other}/secret.html";</script>'),
    }
    with servers(site, {"/secret.html": html("", SECRET)}) as running:
        yield running


def preview(tmp_path, url: str, *args: str):
    rules = rules_dir(tmp_path, peek=RULE)
    return scrapy("preview", "peek", url, "-s", f"RULES_DIR={rules}", *args, timeout=90)


def test_preview_of_another_loopback_service_is_refused_before_any_request(two, tmp_path):
    site, other = two
    proc = preview(tmp_path, f"{other.url}/secret.html", "-a", f"site={site.url}")
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # Scrapy's usage error: "cmdline.py: error: ..."
    assert last.endswith(
        f"error: cannot preview: {other.url}/secret.html is a private or loopback address, and "
        f"not one of the rule's start origins (127.0.0.1:{site.port})"
    ), proc.stderr
    assert "Traceback" not in proc.stderr and SECRET not in proc.stdout
    assert other.paths() == []


def test_preview_redirected_to_another_loopback_service_is_refused(two, tmp_path):
    site, other = two
    proc = preview(tmp_path, f"{site.url}/to-other", "-a", f"site={site.url}")
    assert proc.returncode == 1, proc.stderr
    assert f"error: refused the redirect of {site.url}/to-other: {other.url}/secret.html is a " in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr and SECRET not in proc.stdout
    assert other.paths() == []
    assert "/to-other" in site.paths()  # the site itself was previewed


def test_rendered_preview_navigating_to_another_loopback_service_is_refused(two, tmp_path):
    require_chromium()
    site, other = two
    proc = preview(tmp_path, f"{site.url}/js-nav.html", "--render", "-a", f"site={site.url}")
    assert proc.returncode == 1, proc.stderr
    assert (
        f"error: the page navigated to {other.url}/secret.html (private_address): refused"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr and SECRET not in proc.stdout
    assert other.paths() == []


def test_preview_refuses_arguments_the_rule_does_not_declare(two, tmp_path):
    site, _ = two
    proc = preview(tmp_path, f"{site.url}/", "-a", f"site={site.url}", "-a", "crawler=x")
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith("error: rule 'peek' has no argument(s) crawler; declared: site")
    ), proc.stderr
    assert "Traceback" not in proc.stderr and "TypeError" not in proc.stderr
    assert site.paths() == []  # refused before anything was fetched
    ok = preview(tmp_path, f"{site.url}/", "-a", f"site={site.url}")
    assert ok.returncode == 0, ok.stderr
    assert '"title": "page"' in ok.stdout
