"""The actions behind ``scrapy proxies`` in-process: output never shows credentials, dead
sources are flagged and can be dropped, progress goes to stderr."""

from __future__ import annotations

import io
import json

from proxies.checker import apply_results
from proxies.cli import run
from proxies.model import Anonymity, Proxy
from proxies.pool_store import EmbeddedStore
from proxies.scoring import ScoringPolicy
from proxies.validator import CheckResult
from tests.proxies.fleet import FleetProcess


def test_list_and_stats_hide_credentials_and_flag_dead_sources(tmp_path) -> None:
    db = tmp_path / "p.db"
    store = EmbeddedStore(db)
    paid = Proxy("10.0.0.9", 3128, username="alice", password="hunter2", paid=True, source="vendor")
    good = Proxy("10.0.0.1", 8080, source="good-list")
    bad = [Proxy(f"10.0.1.{i}", 8080, source="junk-list") for i in range(3)]
    store.add([paid, good, *bad])
    apply_results(store, ScoringPolicy(), [
        CheckResult(paid, True, latency=0.1, anonymity=Anonymity.ELITE, https=True),
        CheckResult(good, True, latency=0.2, anonymity=Anonymity.ANONYMOUS),
        *[CheckResult(p, False, error="timeout") for p in bad],
    ])  # fmt: skip
    store.close()
    settings = {"PROXY_POOL_STORE": f"sqlite:///{db}"}
    outputs = []
    for action, opts in [
        ("list", {}),
        ("list", {"json_output": True}),
        ("list", {"all": True}),
        ("stats", {}),
        ("stats", {"json_output": True}),
    ]:
        out = io.StringIO()
        assert run(action, [], opts, settings, out) == 0
        outputs.append(out.getvalue())
    text = "\n".join(outputs)
    assert "hunter2" not in text and "alice" not in text
    assert "http://***@10.0.0.9:3128#" in outputs[0]
    assert [r["source"] for r in json.loads(outputs[1])] == ["vendor", "good-list"]
    assert "junk-list" in outputs[3] and "nothing alive" in outputs[3]
    assert json.loads(outputs[4])["dead_sources"] == ["junk-list"]
    out = io.StringIO()
    run("stats", [], {"drop_dead_sources": True}, settings, out)
    assert "dropped" in out.getvalue()
    assert EmbeddedStore(db).count() == 2


def test_check_shows_a_progress_bar_on_stderr(fleet: FleetProcess, tmp_path, capsys) -> None:
    specs = [s for s in fleet.fleet.specs if s.kind in ("elite", "dead") and not s.auth][:6]
    settings = {
        "PROXY_POOL_STORE": f"sqlite:///{tmp_path / 'p.db'}",
        "PROXY_POOL_JUDGE_URL": fleet.judge.url,
    }
    out = io.StringIO()
    args = [f"127.0.0.1:{s.port}" for s in specs]
    assert run("check", args, {"progress": True, "timeout": 1.0}, settings, out) == 0
    err = capsys.readouterr().err
    assert "checking" in err and "6/6" in err
    assert "checked 6" in out.getvalue()
