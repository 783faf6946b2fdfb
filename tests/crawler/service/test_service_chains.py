"""Chained runs through the data service's run-now: a run started from the API ends, and the rule
that runs ``after:`` it starts by itself, its run showing what started it and the rule's chain."""

from __future__ import annotations

import time

from tests.crawler.service.conftest import make_service
from tests.crawler.service.test_service_runs import ScriptLauncher

BASE = """\
args: {site: "http://x"}
start: [{url: "{site}/", page: index}]
pages:
  index: {fields: {title: {css: h1}}}
"""


def test_run_now_then_the_chained_rule_starts_with_its_chain_shown(tmp_path):
    launcher = ScriptLauncher(seconds=0.1)
    try:
        for service in make_service("sqlite", tmp_path, launcher=launcher):
            for name, extra in [
                ("chain_first", ""),
                ("chain_next", "after: {rules: [chain_first]}\n"),
            ]:
                text = f"name: {name}\n{BASE}{extra}"
                (service.rules_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
            client, auth = service.client, service.auth
            first = client.post("/api/rules/chain_first/run", headers=auth).json()["run_id"]
            deadline = time.monotonic() + 15
            runs: list = []
            while not runs:
                assert time.monotonic() < deadline, "the chained run did not start"
                time.sleep(0.1)
                runs = client.get("/api/runs?rule=chain_next", headers=auth).json()["items"]
            assert [argv[1] for argv in launcher.argvs] == ["chain_first", "chain_next"]
            run = client.get(f"/api/runs/{runs[0]['run_id']}", headers=auth).json()
            assert run["triggered_by"] == [first] and run["trigger"] == "chain"
            assert run["triggered_by_runs"] == [
                {"run_id": first, "rule": "chain_first", "status": "finished"}
            ]
            assert run["chain"]["predecessors"] == ["chain_first"]
            rule = client.get("/api/rules/chain_first", headers=auth).json()
            assert rule["chain"] == {
                "after": None,
                "predecessors": [],
                "successors": ["chain_next"],
            }
            while launcher.procs[-1].poll() is None:
                time.sleep(0.05)
            time.sleep(1.5)  # the chained run ends and is recorded; nothing else starts
            recorded = client.get(f"/api/runs/{runs[0]['run_id']}", headers=auth).json()
            assert recorded["triggered_by"] == [first] and len(launcher.argvs) == 2
            # a chain naming an unknown rule is a problem of the rule, at the after: line
            text = f"name: chain_next\n{BASE}after: {{rules: [chain_frist]}}\n"
            (service.rules_dir / "chain_next.yaml").write_text(text, encoding="utf-8")
            problems = client.get("/api/rules/chain_next", headers=auth).json()["problems"]
            assert any(
                p["line"] == 6 and "did you mean 'chain_first'" in p["message"] for p in problems
            ), problems
    finally:
        for proc in launcher.procs:
            if proc.poll() is None:
                proc.kill()
