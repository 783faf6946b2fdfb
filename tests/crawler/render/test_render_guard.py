"""Rendered pages kept to the rule (issue 21): a page reached through an ordinary link must not
steer the browser to another service on the crawler's network, by navigation or by what its
scripts fetch; redirects of start URLs and of static requests are kept to the rule's domains
and off other loopback services too.

The site runs as ``http://localhost:PORT`` (the rule's start), the other service on port OTHER
of the same machine (an admin panel, a database's HTTP API): ``localhost:OTHER`` is on the
rule's domain by name (refused for its address), ``127.0.0.1:OTHER`` is not (refused as
offsite first), ``127.0.0.2`` is neither the rule's domain nor a resource host.
"""

from __future__ import annotations

import re

import pytest

from tests.crawler.crawl import stat
from tests.crawler.render.hostile import html, redirect, servers
from tests.crawler.render.support import render_crawl, rules_dir
from tests.dashboard.browser import require_chromium

pytestmark = pytest.mark.usefixtures("chromium")


@pytest.fixture(scope="module")
def chromium() -> None:
    require_chromium()


RULE = """\
name: escape
args: {site: null}
item: {collection: escape}
start:
  - url: "{site}/start.html"
    page: list
  - url: "{site}/start-to-other"
    page: plain
  - url: "{site}/start-offsite"
    page: plain
pages:
  list:
    match: /start\\.html$
    links:
      - {css: a.r, to: page}
      - {css: a.s, to: plain}
  page:
    match: /r/
    render:
      wait_for: body
      actions: [{wait: 0.6s}]
      resource_hosts: ["127.0.0.1"]   # also 127.0.0.1:OTHER by name: the address refuses it
    fields:
      title: {css: "title::text"}
      marker: {css: "#marker::text"}
  plain:
    match: /(s/|start-)
    fields:
      title: {css: "title::text"}
"""

SECRET = "http://localhost:{other_port}/secret.html"  # the rule's host name, another service
NAVIGATIONS = ["/r/js-nav.html", "/r/js-late.html", "/r/meta.html", "/r/redirect"]
SUBRESOURCES = """
<p id="marker">none</p>
<img src="{other}/img.png">
<img src="http://127.0.0.2:{other_port}/offsite.png">
<iframe src="{other}/frame.html"></iframe>
<script src="http://127.0.0.1:{site_port}/cdn.js"></script>
<script src="{other}/steal.js"></script>
<script>
  fetch("{other}/fetch", {method: "POST", body: "x"}).catch(() => {});
  const xhr = new XMLHttpRequest(); xhr.open("GET", "{other}/xhr"); xhr.send();
  navigator.sendBeacon("{other}/beacon", "x");
  try { new WebSocket("ws://127.0.0.1:{other_port}/ws"); } catch (e) {}
  window.open("{other}/popup.html");
</script>
"""


def site_pages() -> dict:
    links = "".join(f'<a class="r" href="{p}">r</a>' for p in [*NAVIGATIONS, "/r/subres.html"])
    return {
        "/start.html": html(links + '<a class="s" href="/s/redirect">s</a>'),
        "/r/js-nav.html": html(f'<script>location.href = "{SECRET}";</script>'),
        "/r/js-late.html": html(
            f'<script>setTimeout(() => {{ location.href = "{SECRET}"; }}, 100);</script>'
        ),
        "/r/meta.html": html("", f'<meta http-equiv="refresh" content="0;url={SECRET}">'),
        "/r/redirect": redirect(SECRET),
        "/r/subres.html": html(SUBRESOURCES),
        "/cdn.js": (
            200,
            {"Content-Type": "text/javascript"},
            'document.getElementById("marker").textContent = "cdn";',
        ),
        "/s/redirect": redirect(SECRET),
        "/start-to-other": redirect(SECRET),
        "/start-offsite": redirect("http://127.0.0.2:{other_port}/secret.html"),
    }


def test_rendered_pages_and_redirects_never_reach_another_loopback_service(tmp_path):
    secret = html("<p id='marker'>stolen</p>", "<title>SECRET</title>")
    steal = (200, {"Content-Type": "text/javascript"}, "document.title = 'stolen';")
    with servers(site_pages(), {"/secret.html": secret, "/steal.js": steal}) as (site, other):
        start = f"http://localhost:{site.port}"
        rules = rules_dir(tmp_path, escape=RULE)
        run = render_crawl("escape", tmp_path, start, "-s", f"RULES_DIR={rules}", timeout=120)
        reached = other.paths()
    assert run.returncode == 0, run.log[-3000:]
    # The other service was never asked for anything: not by a navigation (script, meta
    # refresh, redirect), nor by an image, frame, script, fetch, XHR, beacon, socket or popup,
    # nor by a redirect of a start URL or of a static page.
    assert reached == []
    assert not [i for i in run.items if "SECRET" in str(i) or "stolen" in str(i)]
    by_path = {i["_url"].split(str(site.port), 1)[1]: i for i in run.items}
    assert set(by_path) == {"/r/subres.html"}, run.log[-3000:]  # the navigations were refused
    assert by_path["/r/subres.html"]["marker"] == "cdn"  # a resource host of the rule: allowed
    # Every refusal counted and said once with its reason.
    assert stat(run.log, "render/errors/refused_private_address") == len(NAVIGATIONS)
    assert stat(run.log, "render/refused/private_address") >= 8
    assert stat(run.log, "render/refused/offsite") >= 1  # 127.0.0.2: no domain of the rule
    assert stat(run.log, "rule/refused/private_address") == 2  # the start's and a static one
    assert stat(run.log, "rule/refused/offsite_redirect") == 1
    warned = re.findall(
        r"WARNING: refused a request of a rendered page \(private_address\)", run.log
    )
    assert len(warned) == 1
