"""The Nodes page in Debian's Chromium against a real ``scrapy serve`` driving three real Scrapyd
nodes and a real Redis: the nodes listed online and brought to the current version by "Deploy to
all nodes"; a distributed run of three workers started from the page's form, followed on its run
page worker by worker to its end; a node added by an admin with a wrong password shown
unauthorized with its error line (the password never on the page), then removed."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.crawler.nodes.conftest import BOOKS, fleet_settings
from tests.dashboard.service import Service, Workspace
from tests.redis_server import MISSING, REDIS_SERVER, RedisServer
from tests.sample_site import SampleSite
from tests.scrapyd_nodes import ScrapydNode

NAMES = ("n1", "n2", "n3")
RUN_TIMEOUT_MS = 180_000  # a distributed crawl of the sample site, three workers on 2 cores
DEPLOY_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> Iterator[list[ScrapydNode]]:
    root = tmp_path_factory.mktemp("nodes")
    started = []
    try:
        for name in NAMES:
            node = ScrapydNode(root / name, name, username="fleet", password=f"pw-{name}")
            started.append(node.start())
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.fixture(scope="module")
def site() -> Iterator[SampleSite]:
    with SampleSite(books=BOOKS, latency=0.05) as served:
        yield served


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, site) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("fleet-dashboard"), site.url)
    workspace.sample_rule("sample_books")
    return workspace


@pytest.fixture(scope="module")
def service(workspace, nodes, redis_server) -> Iterator[Service]:
    """The service over the workspace with the three nodes (their passwords in this process's
    environment, which the service inherits); the crawls share the workspace's store."""
    fleet = fleet_settings(nodes, workspace.root, redis_server.url)
    settings = {
        "NODES": json.dumps(fleet.getdict("NODES")),
        "NODES_FILE": workspace.root / "nodes.yaml",
        "ALERTS_STATE": workspace.root / "alerts.sqlite",
        "REDIS_URL": redis_server.url,
        "NODES_CHECK_INTERVAL": fleet.getfloat("NODES_CHECK_INTERVAL"),
        "NODES_OFFLINE_AFTER": fleet.getfloat("NODES_OFFLINE_AFTER"),
        "NODES_CRAWL_SETTINGS": json.dumps(fleet.getdict("NODES_CRAWL_SETTINGS")),
        "SERVICE_EVENTS_POLL": 0.2,
    }
    args = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    with Service(workspace, *args) as svc:
        yield svc


def sign_in_with_token(page, service) -> None:
    page.goto(service.url + "/")
    page.locator("#token").fill(service.token)
    page.locator("#token").press("Enter")
    expect(page.locator("#token-state")).to_have_text("Token set")


def open_nodes(page, service) -> None:
    sign_in_with_token(page, service)
    page.locator('nav a[href="#/nodes"]').click()
    expect(page.locator("#nodes-table")).to_be_visible()


def row(page, name: str):
    return page.locator(f'#nodes-table > tbody > tr[data-node="{name}"]')


def test_the_nodes_are_listed_online_and_deploy_brings_them_the_current_version(
    page, service, nodes
):
    open_nodes(page, service)
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Nodes")
    expect(page.locator("#nodes-table > tbody > tr")).to_have_count(3)
    for node in nodes:
        expect(row(page, node.name).locator(".node-status .badge")).to_have_text("online")
        expect(row(page, node.name).locator("code.node-url")).to_have_text(node.url)
        expect(row(page, node.name).locator(".node-jobs")).to_contain_text("0 running")
        expect(row(page, node.name).locator(".node-version")).to_have_attribute("data-mark", "none")
        expect(row(page, node.name).locator(".node-version .badge")).to_have_text("not deployed")
    expect(page.locator("#nodes-checked")).to_have_text(re.compile(r"^checked \d+ s ago$"))

    page.locator("#deploy-all").click()
    results = page.locator("#deploy-results li")
    expect(results).to_have_count(3, timeout=DEPLOY_TIMEOUT_MS)
    summary = page.locator("#deploy-summary").text_content()
    version = re.fullmatch(r"Version (\d+_[0-9a-f]{12}): 3 of 3 nodes have it\.", summary)
    assert version, summary
    for node in nodes:
        line = page.locator(f'#deploy-results li[data-node="{node.name}"]')
        expect(line).to_have_attribute("data-ok", "true")
        expect(line).to_contain_text(f"{node.name}: deployed {version[1]}")
    current = service.get("/api/nodes")["current"]
    assert version[1].endswith(f"_{current}")
    for node in nodes:  # the page read the nodes again: each has this project now
        cell = row(page, node.name).locator(".node-version")
        expect(cell).to_have_attribute("data-mark", "current")
        expect(cell.locator(".badge")).to_have_text("current")
        expect(cell.locator("code")).to_have_text(version[1])

    # deploying the same content again leaves every node alone
    page.locator("#deploy-all").click()
    expect(page.locator('#deploy-results li[data-node="n1"]')).to_contain_text(
        "already there", timeout=DEPLOY_TIMEOUT_MS
    )


def test_a_distributed_run_started_from_the_page_runs_on_three_nodes(
    page, service, site, workspace
):
    service.post("/api/nodes/deploy", {})  # the project as it is now (a no-op when it is there)
    open_nodes(page, service)
    form = page.locator("#node-run-form")
    form.locator("#run-rule").select_option("sample_books")
    form.locator("#run-args").fill(f"site={site.url}")
    expect(form.locator("#run-workers")).to_be_disabled()
    form.locator("#target-distributed").check()
    expect(form.locator("#run-workers")).to_be_enabled()
    form.locator("#run-workers").fill("0")
    form.locator("#run-start").click()
    expect(form.locator("#run-error")).to_have_text("Workers: a whole number from 1 to 1000.")
    form.locator("#run-workers").fill("3")
    form.locator("#run-start").click()

    page.wait_for_url(re.compile(r"#/runs/[^/?]+$"))
    run_id = urllib.parse.unquote(page.url.rsplit("/", 1)[1])
    workers = page.locator("#workers-table tbody tr")
    expect(workers).to_have_count(3, timeout=60_000)  # three Scrapyd crawls start (a busy machine)
    placed = workers.evaluate_all("rows => rows.map(r => r.dataset.node)")
    assert sorted(placed) == list(NAMES), placed
    expect(workers.first.locator("th code")).to_have_text(f"{run_id}.1")
    # the log viewer offers the workers' own logs
    expect(page.locator("#log-worker option")).to_have_count(4)

    expect(page.locator("#run-status")).to_have_text("finished", timeout=RUN_TIMEOUT_MS)
    # every book stored once, whichever worker crawled it (the sample site's one broken page
    # is a dead letter, counted among the items too)
    expect(page.locator('#counters [data-counter="new"] dd')).to_have_text(str(BOOKS))
    for name in NAMES:
        worker = page.locator(f'#workers-table tbody tr[data-node="{name}"]')
        expect(worker).to_have_attribute("data-state", "finished")
        expect(worker.locator("td").nth(1)).to_have_text("finished")
    record = service.get(f"/api/runs/{run_id}")
    assert record["distributed"] and record["status"] == "finished", record
    assert record["new"] == BOOKS and record["lost_workers"] == 0, record
    assert sum(w["items"] for w in record["workers"]) == record["items"], record["workers"]


def test_an_added_node_with_a_wrong_password_is_unauthorized_then_removed(
    page, service, nodes, workspace
):
    open_nodes(page, service)
    # a node of the settings cannot be removed from here
    expect(row(page, "n1").locator(".remove-node")).to_have_count(0)
    form = page.locator("#node-add-form")
    expect(form.locator("#node-password")).to_have_attribute("type", "password")
    form.locator("#node-name").fill("n4")
    form.locator("#node-url").fill(nodes[0].url)
    form.locator("#node-username").fill("fleet")
    form.locator("#node-password").fill("not-the-password")
    form.locator("#node-slots").fill("2")
    form.locator("#node-add").click()
    expect(page.locator("#nodes-notice")).to_have_text("Node n4 added.")
    expect(form.locator("#node-password")).to_have_value("")
    added = row(page, "n4")
    expect(added.locator(".node-status .badge")).to_have_text("unauthorized", timeout=15_000)
    expect(added.locator(".node-error")).to_contain_text("wrong credentials")
    expect(added).to_contain_text("added here")
    expect(added).to_contain_text("2 slots")
    assert "not-the-password" not in page.content()
    assert "not-the-password" not in json.dumps(service.get("/api/nodes"))
    # not answering for NODES_OFFLINE_AFTER: an alert, listed on the page
    alert = page.locator('#node-alerts li[data-event="node_offline"][data-node="n4"]')
    expect(alert).to_contain_text("n4 offline", timeout=20_000)
    expect(alert).to_contain_text("wrong credentials")

    added.locator(".remove-node").click()
    expect(added.locator(".confirm-remove")).to_be_visible()
    added.locator(".cancel-remove").click()
    expect(added.locator(".node-status .badge")).to_have_text("unauthorized")
    added.locator(".remove-node").click()
    added.locator(".confirm-remove").click()
    expect(page.locator("#nodes-notice")).to_have_text("Node n4 removed.")
    expect(added).to_have_count(0)
    expect(page.locator("#nodes-table > tbody > tr")).to_have_count(3)
    assert "n4" not in (workspace.root / "nodes.yaml").read_text(encoding="utf-8")
    # the service's own list drops it at its watch's next look (NODES_CHECK_INTERVAL: 0.5 s)
    deadline = time.monotonic() + 10
    while [n["name"] for n in service.get("/api/nodes")["nodes"]] != list(NAMES):
        assert time.monotonic() < deadline, service.get("/api/nodes")["nodes"]
        time.sleep(0.2)
    page.reload()
    expect(page.locator("#nodes-table > tbody > tr")).to_have_count(3)
