"""Rules and schedules API: listing with validity, schedule and last run; one rule; validate
and preview posted YAML with the crawl's own engines; saving (validated, atomic, previous
kept, never outside the rules directory); pause and resume."""

from __future__ import annotations

from tests.crawler.service.conftest import Service

BROKEN = "name: sample_books\nstart: [{url: 'http://x.test/', page: nope}]\npages: {p: {}}\n"


def test_rules_listed_with_validity_schedule_and_last_run(service: Service) -> None:
    (service.rules_dir / "broken.yaml").write_text("start: [\n", encoding="utf-8")
    path = service.rules_dir / "sample_books.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nstart:", '\nschedule: {cron: "0 3 * * *"}\nstart:', 1))
    service.store.record_run(
        {
            "run_id": "r1",
            "rule": "sample_books",
            "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:01:00Z",
            "finish_reason": "finished",
            "items": 61,
        }
    )
    rules = {r["name"]: r for r in service.client.get("/api/rules").json()["items"]}
    assert rules["broken"]["valid"] is False and rules["broken"]["problems"] >= 1
    books = rules["sample_books"]
    assert books["valid"] is True and books["file"] == "sample_books.yaml"
    assert books["schedule"]["cron"] == "0 3 * * *" and books["schedule"]["paused"] is False
    assert books["schedule"]["next_run"].endswith("T03:00:00.000Z")
    last = books["last_run"]  # as the runs listing shows it, its figures included
    assert (last["run_id"], last["status"], last["items"]) == ("r1", "finished", 61)
    assert last["finished_at"] == "2026-01-01T00:01:00Z" and last["live"] is False
    assert (last["errors"], last["error_rate"], last["ban_rate"]) == (0, 0.0, 0.0)
    listed = service.client.get("/api/runs", params={"rule": "sample_books"}).json()["items"]
    assert listed == [last]
    schedules = service.client.get("/api/schedules").json()["items"]
    assert [s["rule"] for s in schedules] == ["sample_books"]
    assert schedules[0]["last_status"] == "finished"
    # pause and resume: a flag the scheduler daemon reads
    assert service.client.post("/api/schedules/sample_books/pause").status_code == 401
    answer = service.client.post("/api/schedules/sample_books/pause", headers=service.auth)
    assert answer.json() == {"rule": "sample_books", "paused": True}
    assert (service.tmp / "schedule" / "paused" / "sample_books").exists()
    assert service.client.get("/api/schedules").json()["items"][0]["paused"] is True
    service.client.post("/api/schedules/sample_books/resume", headers=service.auth)
    assert service.client.get("/api/schedules").json()["items"][0]["paused"] is False
    missing = service.client.post("/api/schedules/sample_api/pause", headers=service.auth)
    assert missing.status_code == 404  # no schedule


def test_one_rule_with_its_text_and_problems(service: Service) -> None:
    answer = service.client.get("/api/rules/sample_books").json()
    assert answer["yaml"] == (service.rules_dir / "sample_books.yaml").read_text(encoding="utf-8")
    assert answer["problems"] == []
    assert service.client.get("/api/rules/nope").status_code == 404
    assert service.client.get("/api/rules/..%2Fsecrets").status_code in (404, 422)


def test_validate_reports_problems_at_their_line(service: Service) -> None:
    assert service.client.post("/api/rules/validate", json={"yaml": BROKEN}).status_code == 401
    answer = service.client.post(
        "/api/rules/validate", json={"yaml": BROKEN}, headers=service.auth
    ).json()
    assert answer["ok"] is False
    problem = next(p for p in answer["problems"] if "nope" in p["message"])
    assert problem["line"] == 2 and problem["column"] > 1 and problem["severity"] == "error"
    good = (service.rules_dir / "sample_books.yaml").read_text(encoding="utf-8")
    ok = service.client.post("/api/rules/validate", json={"yaml": good}, headers=service.auth)
    assert ok.json() == {"ok": True, "problems": []}


def test_a_rule_that_would_run_code_or_touch_files_is_refused(service: Service) -> None:
    text = (service.rules_dir / "sample_books.yaml").read_text(encoding="utf-8")
    evil = text + "settings:\n  ITEM_PIPELINES: {os.system: 1}\n  FEEDS: {/tmp/x.json: {}}\n"
    answer = service.client.put(
        "/api/rules/sample_books", json={"yaml": evil}, headers=service.auth
    )
    assert answer.status_code == 422
    messages = " ".join(p["message"] for p in answer.json()["problems"])
    assert "ITEM_PIPELINES cannot be set by a rule" in messages
    assert service.rules_dir.joinpath("sample_books.yaml").read_text(encoding="utf-8") == text


def test_save_is_validated_atomic_and_keeps_the_previous_version(service: Service) -> None:
    path = service.rules_dir / "sample_books.yaml"
    before = path.read_text(encoding="utf-8")
    after = before.replace("Books of the bundled sample site", "Edited from the dashboard")
    assert service.client.put("/api/rules/sample_books", json={"yaml": after}).status_code == 401
    answer = service.client.put(
        "/api/rules/sample_books",
        json={"yaml": after, "message": "a clearer description"},
        headers=service.auth,
    )
    assert answer.status_code == 200, answer.text
    saved = answer.json()["version"]
    assert answer.json()["saved"] is True and saved["id"] == 2 and saved["author"] == "tests"
    assert saved["message"] == "a clearer description" and len(saved["version"]) == 12
    # the file as it was is version 1; history lives with the data, not in rules/
    versions = service.client.get("/api/rules/sample_books/history").json()["versions"]
    assert [(v["id"], v["author"]) for v in versions] == [(2, "tests"), (1, "(on disk)")]
    first = service.client.get("/api/rules/sample_books/history/1").json()
    assert first["yaml"] == before
    assert not (service.rules_dir / ".history").exists()
    assert path.read_text(encoding="utf-8") == after
    assert not [p for p in service.rules_dir.iterdir() if p.name.endswith(".tmp")]
    listed = {r["name"]: r for r in service.client.get("/api/rules").json()["items"]}
    assert listed["sample_books"]["description"].startswith("Edited from the dashboard")
    # invalid text is never written
    bad = service.client.put("/api/rules/sample_books", json={"yaml": BROKEN}, headers=service.auth)
    assert bad.status_code == 422 and bad.json()["problems"]
    assert path.read_text(encoding="utf-8") == after
    # a new rule is a new file; its name must match and stay inside the rules directory
    new = after.replace("name: sample_books", "name: books_copy")
    created = service.client.put("/api/rules/books_copy", json={"yaml": new}, headers=service.auth)
    assert created.json()["saved"] is True and created.json()["version"]["id"] == 1
    assert (service.rules_dir / "books_copy.yaml").is_file()
    wrong = service.client.put("/api/rules/other_name", json={"yaml": new}, headers=service.auth)
    assert wrong.status_code == 422 and "books_copy" in wrong.json()["problems"][0]["message"]
    for name in ("..%2F..%2Fx", ".hidden", "a b"):
        answer = service.client.put(f"/api/rules/{name}", json={"yaml": new}, headers=service.auth)
        assert answer.status_code in (404, 405, 422)
    assert not (service.rules_dir.parent / "x.yaml").exists()


def test_preview_runs_the_posted_rule_on_a_page(sqlite_service: Service, sample_site: str) -> None:
    service = sqlite_service
    text = (service.rules_dir / "sample_books.yaml").read_text(encoding="utf-8")
    text = text.replace("name: sample_books", "name: draft_books")
    body = {"yaml": text, "url": f"{sample_site}/", "args": {"site": sample_site}}
    answer = service.client.post("/api/rules/preview", json=body, headers=service.auth)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["page"] == "index" and result["status"] == 200
    assert result["links"] and all(link["page"] == "tag_list" for link in result["links"])
    broken = service.client.post(
        "/api/rules/preview", json={**body, "yaml": BROKEN}, headers=service.auth
    )
    assert broken.status_code == 422 and broken.json()["problems"]
    bad_url = service.client.post(
        "/api/rules/preview", json={**body, "url": "file:///etc/passwd"}, headers=service.auth
    )
    assert bad_url.status_code == 422
    assert not (service.rules_dir / "draft_books.yaml").exists()  # a preview saves nothing


def test_a_draft_extending_a_template_is_checked_with_the_chain_of_each_problem(
    sqlite_service: Service,
) -> None:
    """The editor's draft finds its template in RULES_DIR/templates; a problem a template gave
    carries where it was written (``via``)."""
    templates = sqlite_service.rules_dir / "templates"
    templates.mkdir()
    (templates / "listing.yaml").write_text(
        "args: {site: null}\nstart: [{url: '{site}/', page: p}]\n"
        "pages:\n  p:\n    fields:\n      title: {xpath: '//h1['}\n",
        encoding="utf-8",
    )
    client, auth = sqlite_service.client, sqlite_service.auth
    body = {
        "yaml": "name: draft\nextends: listing\nargs: {site: 'http://127.0.0.1:9'}\n",
        "name": "draft",
    }
    answer = client.post("/api/rules/validate", json=body, headers=auth).json()
    assert answer["ok"] is False
    (problem,) = answer["problems"]
    assert problem["line"] == 2 and problem["path"] == "pages.p.fields.title.xpath"
    assert problem["via"] == [f"{templates / 'listing.yaml'}:6:15"]
    fixed = body["yaml"] + "pages: {p: {fields: {title: {xpath: '//h1'}}}}\n"
    answer = client.post("/api/rules/validate", json={**body, "yaml": fixed}, headers=auth)
    assert answer.json() == {"ok": True, "problems": []}


def test_history_diffs_two_versions_and_restores_one_as_a_new_version(
    sqlite_service: Service,
) -> None:
    client, auth = sqlite_service.client, sqlite_service.auth
    path = sqlite_service.rules_dir / "sample_books.yaml"
    original = path.read_text(encoding="utf-8")
    edited = original.replace("Books of the bundled sample site", "Edited")
    client.put("/api/rules/sample_books", json={"yaml": edited, "message": "edit"}, headers=auth)
    diff = client.get("/api/rules/sample_books/diff", params={"a": 1, "b": 2}).json()["diff"]
    assert diff.startswith("--- sample_books@1 ((on disk))\n+++ sample_books@2 (tests)\n")
    assert "-description: Books of the bundled sample site" in diff
    assert "+description: Edited" in diff
    now = client.get("/api/rules/sample_books/diff", params={"a": 2}).json()["diff"]
    assert now == ""  # version 2 is the file as it is
    assert client.post("/api/rules/sample_books/restore", json={"version": 1}).status_code == 401
    restored = client.post("/api/rules/sample_books/restore", json={"version": 1}, headers=auth)
    assert restored.status_code == 200, restored.text
    version = restored.json()["version"]
    assert version["id"] == 3 and version["message"] == "restore version 1"
    assert path.read_text(encoding="utf-8") == original
    versions = client.get("/api/rules/sample_books/history").json()["versions"]
    assert versions[0]["version"] == versions[-1]["version"]  # the same rule again
    missing = client.post("/api/rules/sample_books/restore", json={"version": 9}, headers=auth)
    assert missing.status_code == 404 and "no version 9" in missing.json()["detail"]
    assert client.get("/api/rules/..%2Fx/history").status_code in (404, 422)
