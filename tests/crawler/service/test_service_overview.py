"""The overview for a thousand rules: search, filters (tag, last run status and age, failing
monitors), paging, tags with their counts; bulk run, pause and resume; the cron editor's check
with the next five times, and a schedule saved as a new version of its rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.crawler.service.conftest import Service, make_service
from tests.crawler.service.test_service_runs import ScriptLauncher

TEMPLATE = """\
description: Notices of one CMS.
args: {site: null}
item: {key: [url]}
start: [{url: "{site}/notices/", page: list}]
pages:
  list:
    rows:
      css: li
      fields:
        title: {css: "a::text", required: true}
        url: {css: "a::attr(href)", clean: [absolute_url]}
"""


def site_table(rules: Path, count: int) -> None:
    (rules / "templates").mkdir(exist_ok=True)
    (rules / "templates" / "notice.yaml").write_text(TEMPLATE, encoding="utf-8")
    (rules / "tables").mkdir(exist_ok=True)
    rows = []
    for i in range(count):
        tags = ["gov", "north" if i % 2 else "south"]
        schedule = ', schedule: {cron: "0 6 * * *"}' if i < 10 else ""
        rows.append(
            f"  - {{name: gov_{i:04d}, args: {{site: 'http://127.0.1.{i % 250 + 1}:8000'}}, "
            f"tags: [{', '.join(tags)}]{schedule}}}\n"
        )
    rows.append("  - {name: gov_broken, tags: [gov], pages: {list: {rows: {css: 'li['}}}}\n")
    text = "template: notice\nsites:\n" + "".join(rows)
    (rules / "tables" / "gov.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def overview(tmp_path: Path):
    launcher = ScriptLauncher()
    rules = tmp_path / "rules"
    import shutil

    from tests.crawler.crawl import ROOT

    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("fixtures"))
    site_table(rules, 1000)
    for service in make_service("sqlite", tmp_path, launcher=launcher):
        now = datetime.now(UTC)
        runs = [
            ("gov_0001", "finished", now - timedelta(hours=1)),
            ("gov_0002", "monitor_failed", now - timedelta(hours=2)),
            ("gov_0003", "failed", now - timedelta(days=3)),
            ("gov_0003", "finished", now - timedelta(days=2)),
        ]
        for n, (rule, status, started) in enumerate(runs):
            service.store.record_run(
                {"run_id": f"r{n}", "rule": rule, "status": status,
                 "started_at": started.isoformat(), "finished_at": started.isoformat()}
            )  # fmt: skip
        yield service, launcher
    for proc in launcher.procs:
        if proc.poll() is None:
            proc.kill()


def names(answer: dict) -> list[str]:
    return [item["name"] for item in answer["items"]]


def test_a_thousand_rules_searched_filtered_and_paged(overview) -> None:
    service, _ = overview
    get = lambda **q: service.client.get("/api/rules", params=q).json()  # noqa: E731
    first = get()
    from tests.crawler.crawl import ROOT

    shipped = len(list((ROOT / "rules").glob("*.yaml")))  # the project's own rules, copied
    assert first["all"] == 1001 + shipped and first["total"] == first["all"]
    assert len(first["items"]) == 50 and first["limit"] == 50
    assert first["tags"]["gov"] == 1001 and first["tags"]["north"] == 500
    page = get(offset=100, limit=20)
    assert len(page["items"]) == 20 and names(page)[0] == names(get(limit=500))[100]
    assert names(get(q="gov_0042")) == ["gov_0042"]
    assert get(q="notices 004")["total"] == 11  # description and name: gov_0004, gov_0040-49
    assert get(tag="north")["total"] == 500
    assert names(get(status="monitor_failed")) == ["gov_0002"]
    assert names(get(failing="true")) == ["gov_0002"]
    assert names(get(status="invalid", tag="gov")) == ["gov_broken"]
    assert get(status="never", tag="gov")["total"] == 1001 - 3 - 1
    assert names(get(q="gov_000", stale_hours=24)) == ["gov_0000", "gov_0003", "gov_0004",
                                                        "gov_0005", "gov_0006", "gov_0007",
                                                        "gov_0008", "gov_0009"]  # fmt: skip
    three = get(q="gov_0003")["items"][0]
    assert three["last_run"]["status"] == "finished" and three["row"] == 6
    assert three["schedule"]["cron"] == "0 6 * * *" and three["tags"] == ["gov", "north"]
    assert service.client.get("/api/rules", params={"status": "odd"}).status_code == 422
    assert service.client.get("/api/rules", params={"limit": 5000}).status_code == 422


def test_bulk_pause_resume_and_run_report_each_rule(overview) -> None:
    service, launcher = overview
    client, auth = service.client, service.auth
    body = {"action": "pause", "rules": ["gov_0001", "gov_0002", "gov_0500", "nope"]}
    assert client.post("/api/rules/bulk", json=body).status_code == 401
    answer = client.post("/api/rules/bulk", json=body, headers=auth).json()
    assert answer["done"] == 2 and answer["failed"] == 2
    assert answer["results"]["gov_0500"] == {"ok": False, "error": "the rule has no schedule"}
    assert answer["results"]["nope"]["error"] == "no rule named 'nope'"
    paused = {s["rule"]: s["paused"] for s in client.get("/api/schedules").json()["items"]}
    assert paused["gov_0001"] and paused["gov_0002"] and not paused["gov_0003"]
    resumed = client.post("/api/rules/bulk", json={**body, "action": "resume"}, headers=auth)
    assert resumed.json()["done"] == 2
    assert not any(s["paused"] for s in client.get("/api/schedules").json()["items"])
    ran = client.post(
        "/api/rules/bulk", json={"action": "run", "rules": ["gov_0007", "gov_broken"]}, headers=auth
    ).json()
    assert ran["results"]["gov_0007"]["ok"] and ran["results"]["gov_0007"]["run_id"]
    assert ran["results"]["gov_broken"] == {"ok": False, "error": "the rule has problems"}
    assert len(launcher.argvs) == 1 and "gov_0007" in launcher.argvs[0]


def test_the_cron_editor_checks_and_shows_the_next_five_times(sqlite_service: Service) -> None:
    client = sqlite_service.client
    good = client.get("/api/schedules/next", params={"cron": "30 6 * * 1-5",
                                                     "timezone": "Asia/Shanghai"}).json()  # fmt: skip
    assert good["valid"] is True and len(good["next"]) == 5
    times = [datetime.fromisoformat(t) for t in good["next"]]
    assert times == sorted(times) and all(t.hour == 6 and t.minute == 30 for t in times)
    assert all(t.utcoffset() == timedelta(hours=8) and t.weekday() < 5 for t in times)
    bad = client.get("/api/schedules/next", params={"cron": "61 * * * *"}).json()
    assert bad["valid"] is False and "invalid cron expression" in bad["error"]
    zone = client.get("/api/schedules/next", params={"cron": "@daily", "timezone": "Mars/Base"})
    assert "unknown time zone" in zone.json()["error"]


def test_a_schedule_is_saved_as_a_new_version_of_its_rule(sqlite_service: Service) -> None:
    client, auth = sqlite_service.client, sqlite_service.auth
    path = sqlite_service.rules_dir / "sample_books.yaml"
    before = path.read_text(encoding="utf-8")
    body = {"cron": "0 3 * * *", "timezone": "Europe/Paris"}
    assert client.put("/api/schedules/sample_books", json=body).status_code == 401
    saved = client.put("/api/schedules/sample_books", json=body, headers=auth)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"]["message"] == "schedule: 0 3 * * * (Europe/Paris)"
    text = path.read_text(encoding="utf-8")
    assert "schedule:\n  cron: 0 3 * * *\n  timezone: Europe/Paris\n" in text
    assert text.startswith(before.split("\n", 3)[0])  # comments and the rest kept
    listed = {s["rule"]: s for s in client.get("/api/schedules").json()["items"]}
    assert listed["sample_books"]["cron"] == "0 3 * * *" and listed["sample_books"]["next_run"]
    again = client.put("/api/schedules/sample_books", json={"cron": "0 4 * * *"}, headers=auth)
    assert again.status_code == 200 and path.read_text().count("schedule:") == 1
    wrong = client.put("/api/schedules/sample_books", json={"cron": "nope"}, headers=auth)
    assert wrong.status_code == 422 and "invalid cron expression" in wrong.json()["detail"]
    removed = client.put("/api/schedules/sample_books", json={"cron": None}, headers=auth)
    assert removed.status_code == 200 and "schedule:" not in path.read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8") == before
