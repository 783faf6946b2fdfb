"""Fuzzing ``scrapy validate`` with mutants of the shipped rules: whatever a file holds, the
compiler reports problems (never another exception, never a hang past 10 s) and stays under
200 MB; the command itself prints no traceback.

Mutations are what people and attackers do to YAML: delete, duplicate or swap lines, cut the
text anywhere, insert YAML syntax (anchors, aliases, tags, flow brackets, control characters,
huge numbers, templates) at any place, and change values' types. Hypothesis runs derandomized,
so a failure reproduces.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.rules import RuleError
from crawler.spider.project import parse_rule
from tests.crawler.crawl import ROOT

SHIPPED = sorted(
    p.read_text(encoding="utf-8") for p in (ROOT / "rules").glob("*.yaml") if p.is_file()
)
TOKENS = [
    "&a ",
    "*a",
    "*b",
    "!!python/name:os.system ",
    "!!binary ",
    "!custom ",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "'",
    '"',
    "\x00",
    "\x1b",
    "\t",
    "\ufeff",
    "9" * 400,
    "{1..100000000}",
    "{0..9..0}",
    "${HOME}",
    "{site}",
    "<<: *a",
    "---\n",
    "...",
    "%YAML 1.1\n",
    "? ",
    "|\n",
    ">-\n",
    "#",
    "file:///etc/passwd",
    "FEEDS",
    "count(",
    "//a[",
    "::text",
    "null",
    "~",
    "0x1F",
    ".inf",
]


@st.composite
def mutants(draw) -> str:
    text = draw(st.sampled_from(SHIPPED))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "cut", "insert", "retype"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "cut":
            text = text[: draw(st.integers(0, len(text)))]
            continue
        elif kind == "insert":
            at = draw(st.integers(0, len(lines[i])))
            token = draw(st.sampled_from(TOKENS))
            lines[i] = lines[i][:at] + token + lines[i][at:]
        elif kind == "retype":
            lines[i] = re.sub(
                r":\s*(\S.*)$",
                lambda _: ": " + draw(st.sampled_from(["[]", "{}", "1", "x", "null"])),
                lines[i],
            )
        text = "\n".join(lines)
    return text


@settings(
    max_examples=300,
    deadline=10_000,  # ms per example: never a hang past 10 s
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(mutants())
def test_the_compiler_reports_problems_and_nothing_else(text: str) -> None:
    tracemalloc.start()
    try:
        parse_rule(text, filename="mutant.yaml")
    except RuleError as exc:
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert str(problem).startswith("mutant.yaml:")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 200 * 1024 * 1024


def test_scrapy_validate_on_a_directory_of_mutants(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    examples: list[str] = []

    @settings(
        max_examples=40,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutants())
    def collect(text: str) -> None:
        examples.append(text)

    collect()
    for i, text in enumerate(examples):
        (rules / f"m{i:03d}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.security.measured", "validate", "-s", f"RULES_DIR={rules}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode in (0, 1)
    assert re.search(rf"{len(examples)} rule file\(s\)", proc.stdout), proc.stdout[-2000:]
    peak = float(re.search(r"MAXRSS_MB=([\d.]+)", proc.stderr).group(1))
    assert peak < 200, f"peak RSS {peak} MB"
    print(f"validate of {len(examples)} mutants: peak RSS {peak} MB, {elapsed:.1f} s")
    assert elapsed < 10 * len(examples)  # a bound per file, as for one validate each
