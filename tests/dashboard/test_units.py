"""The dashboard's JavaScript unit tests (``node --test dashboard/tests/``), and what the
dashboard must know of the Python side: every run status and every reason a sign-in fails has
its words in both languages."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crawler.core.exitcodes import EXIT_CODES

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_units():
    proc = subprocess.run(
        ["node", "--test", "tests/"],
        cwd=DASHBOARD,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.M)
    assert passed and int(passed.group(1)) >= 6, proc.stdout


def message_keys(language: str) -> set[str]:
    """The keys of the dashboard's messages in ``language`` (dashboard/src/messages/)."""
    text = (DASHBOARD / "src" / "messages" / f"{language}.js").read_text(encoding="utf-8")
    return set(re.findall(r'^\s+"([\w.]+)":', text, re.M))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_run_status_has_words(language):
    keys = message_keys(language)
    missing = [status for status in EXIT_CODES if f"status.{status}" not in keys]
    assert not missing, f"{language}.js has no words for run statuses {missing}"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_sign_in_failure_has_words(language):
    from crawler.service.signin.errors import REASONS

    keys = message_keys(language)
    missing = [reason for reason in REASONS if f"signin.error.{reason}" not in keys]
    assert not missing, f"{language}.js has no words for sign-in failures {missing}"
