"""Redirects of a rule crawl stay where the rule goes (issue 21): a start URL (which Scrapy's
offsite middleware lets through with all it redirects to) or a followed link that redirects to
another host, or to another service on a loopback address, is refused, counted and logged once;
so is a plain link to that service; a redirect within the rule's own origin is followed."""

from __future__ import annotations

from tests.crawler.crawl import crawl, stat
from tests.crawler.render.hostile import html, redirect, servers
from tests.crawler.render.support import rules_dir

RULE = """\
name: hops
args: {site: null}
item: {collection: hops}
start:
  - {url: "{site}/start-home", page: page}
  - {url: "{site}/start-other", page: page}
  - {url: "{site}/start-offsite", page: page}
pages:
  page:
    links:
      - {css: a, to: page}
    fields:
      title: {css: "title::text"}
"""


def test_start_and_followed_redirects_stay_on_the_rules_domains_and_origins(tmp_path):
    secret = html("", "<title>SECRET</title>")
    site_pages = {
        "/start-home": redirect("/home"),  # the same origin: followed
        # a redirect there, and a plain link there (the same host name: offsite lets it by)
        "/home": html(
            '<a href="/link-other">x</a> <a href="http://localhost:{other_port}/secret.html?by=link">y</a>'
        ),
        "/link-other": redirect("http://localhost:{other_port}/secret.html"),
        "/start-other": redirect("http://localhost:{other_port}/secret.html"),
        "/start-offsite": redirect("http://127.0.0.2:{other_port}/secret.html"),
    }
    with servers(site_pages, {"/secret.html": secret}) as (site, other):
        rules = rules_dir(tmp_path, hops=RULE)
        run = crawl(
            "hops", tmp_path, "-s", f"RULES_DIR={rules}", site=f"http://localhost:{site.port}"
        )
        reached = other.paths()
    assert run.returncode == 0, run.log[-3000:]
    assert reached == []
    assert [item["_url"] for item in run.items] == [f"http://localhost:{site.port}/home"]
    # a start's redirect, a link's redirect, the link itself
    assert stat(run.log, "rule/refused/private_address") == 3
    assert stat(run.log, "rule/refused/offsite_redirect") == 1
    assert run.log.count("(logged once; counted in rule/refused/private_address)") == 1
    assert "is a private or loopback address, and not one of the rule's start origins" in run.log
