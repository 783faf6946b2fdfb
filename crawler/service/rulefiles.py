"""Rule files as the service edits them: names checked, paths kept inside ``RULES_DIR``,
text compiled with the project's compiler before anything is written, saves atomic (a
temporary file renamed over the rule) and recorded in the rule's history
(crawler/rules/history.py: author, time, message; kept with the platform's data), and previews run by ``scrapy preview`` on a temporary rules
directory, bounded in time and output, a few at once (:class:`PreviewSlots`); a preview past its
time is killed with every process it started (its own process group).

A rule is data: the compiler refuses settings that name code, files or outputs, and nothing
here runs what a rule says except through the crawl's own engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crawler.rules import Problem, Rule, RuleError
from crawler.rules.files import MAX_FILE_BYTES, RULE_SUFFIXES
from crawler.rules.history import RuleHistory, Version
from crawler.rules.inherit import TEMPLATES_DIR
from vocab.datadir import project_root

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class RuleFileError(ValueError):
    """A name or text the service refuses; the message is for the caller."""


def check_name(name: str) -> str:
    """``name`` if it can name a rule file (letters, digits, ``_`` and ``-``)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise RuleFileError(f"not a rule name: {name!r} (letters, digits, _ and -, up to 100)")
    return name


def rule_path(rules_dir: Path, name: str) -> Path:
    """The file of rule ``name`` (an existing ``.yml`` is kept), always inside ``rules_dir``."""
    check_name(name)
    base = rules_dir.resolve()
    for suffix in RULE_SUFFIXES:
        candidate = base / f"{name}{suffix}"
        if candidate.is_file():
            break
    else:
        candidate = base / f"{name}.yaml"
    if candidate.resolve().parent != base:  # a symlink pointing elsewhere
        raise RuleFileError(f"rule {name!r} is not a file of the rules directory")
    return candidate


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "column": problem.column,
        "path": problem.path,
        "message": problem.message,
        "severity": problem.severity.value,
        "via": list(problem.via),  # a value from a template: where it was written
    }


def check_text(text: str) -> None:
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise RuleFileError(f"a rule file is at most {MAX_FILE_BYTES:,} bytes")


def compile_text(
    text: str, settings: Any, name: str | None, item_types: Mapping[str, Any]
) -> tuple[Rule | None, list[Problem]]:
    """``(rule, problems)``: the rule if it compiles (its warnings in ``problems``), else None
    and every problem of the text."""
    from crawler.spider import parse_rule

    check_text(text)
    filename = f"{name or 'rule'}.yaml"
    try:
        rule = parse_rule(text, settings, filename=filename, item_types=item_types)
    except RuleError as exc:
        return None, list(exc.problems)
    problems = list(rule.warnings)
    if name is not None and rule.name != name:
        problems.insert(
            0,
            Problem(
                filename, 1, 1, "name", f"the rule is named {rule.name!r}: save it as {rule.name}"
            ),
        )
        return None, problems
    return rule, problems


def save_rule(
    rules_dir: Path,
    name: str,
    text: str,
    *,
    history: RuleHistory,
    author: str,
    message: str = "",
    version: str = "",
    before: str = "",
) -> Version:
    """Write the rule atomically and record it as a new version of its history (a file written
    by hand before is recorded first, as it was: ``before`` is its version)."""
    check_text(text)
    target = rule_path(rules_dir, name)
    return history.save(
        name, target, text, author=author, message=message, version=version, before=before
    )


class PreviewError(RuntimeError):
    """The preview process failed; the message is its last words."""


class PreviewBusy(RuntimeError):
    """As many previews as may run at once are running."""


class PreviewSlots:
    """At most ``size`` previews at once (``SERVICE_PREVIEW_CONCURRENCY``): one more is refused
    at once, never queued.

    >>> slots = PreviewSlots(1)
    >>> with slots.take():
    ...     with slots.take():
    ...         pass
    Traceback (most recent call last):
    ...
    crawler.service.rulefiles.PreviewBusy: 1 preview is running, the most at once
    >>> with slots.take():
    ...     "free again"
    'free again'
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.semaphore = threading.BoundedSemaphore(size)

    @contextmanager
    def take(self) -> Iterator[None]:
        if not self.semaphore.acquire(blocking=False):
            running = "1 preview is" if self.size == 1 else f"{self.size} previews are"
            raise PreviewBusy(f"{running} running, the most at once")
        try:
            yield
        finally:
            self.semaphore.release()


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the preview and everything it started (a browser, when the rule renders)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # already gone
        proc.kill()
    proc.wait()


def run_preview(
    rule: Rule,
    text: str,
    url: str,
    *,
    rules_dir: Path,
    page: str | None,
    args: Mapping[str, str],
    timeout: float,
    max_output: int,
    crawl_settings: tuple[tuple[str, str], ...] = (),
    keep_page: int = 0,
) -> dict[str, Any]:
    """What ``scrapy preview`` prints for ``text`` (a compiled rule) on ``url``, as JSON.

    ``keep_page``: also the page fetched (``--save``: the fixture's body, at most that many
    bytes, and its kept headers) under ``"fetched"``: the point-and-click picker reads it."""
    with tempfile.TemporaryDirectory(prefix="rule-preview-") as tmp:
        work = Path(tmp)
        (work / f"{rule.name}.yaml").write_text(text, encoding="utf-8")
        types = rules_dir / "types"
        if types.is_dir():
            shutil.copytree(types, work / "types")
        for source in rule.inherits:  # the templates it extends, where extends: finds them
            folder = work / TEMPLATES_DIR if source.parent.name == TEMPLATES_DIR else work
            where = folder / source.name
            folder.mkdir(exist_ok=True)
            shutil.copyfile(source, where)
        argv = [sys.executable, "-m", "scrapy.cmdline", "preview", rule.name, url]
        if page:
            argv += ["--page", page]
        if keep_page:
            argv += ["--save"]
        for key, value in args.items():
            argv += ["-a", f"{key}={value}"]
        for key, value in [*crawl_settings, ("RULES_DIR", str(work))]:
            argv += ["-s", f"{key}={value}"]
        out_path, err_path = work / "stdout", work / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                cwd=project_root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, "PYTHONPATH": str(project_root)},
                start_new_session=True,  # its own process group, killed whole on timeout
            )
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise PreviewError(
                    f"the preview took longer than {timeout:g} s (SERVICE_PREVIEW_TIMEOUT)"
                ) from None
            except BaseException:  # the service stopping: leave no preview behind
                _kill_group(proc)
                raise
        output = _head(out_path, max_output)
        if code != 0:
            raise PreviewError(_last_words(_head(err_path, 65536)) or f"exit status {code}")
        try:
            result = json.loads(output)
        except ValueError:
            raise PreviewError("the preview printed no JSON (output too large?)") from None
        if keep_page:
            result["fetched"] = _fetched(work / "fixtures" / rule.name, keep_page)
        return result


def _fetched(directory: Path, limit: int) -> dict[str, Any]:
    """The body and headers of the one fixture ``scrapy preview --save`` wrote."""
    records = sorted(directory.glob("*.json"))
    if not records:
        raise PreviewError("the preview kept no page")
    body = records[0].with_suffix(".body")
    if body.stat().st_size > limit:
        raise PreviewError(f"the page is larger than {limit} bytes")
    record = json.loads(records[0].read_text(encoding="utf-8"))
    return {"body": body.read_bytes(), "headers": record.get("headers") or {}}


def _head(path: Path, limit: int) -> str:
    with path.open("rb") as f:
        return f.read(limit).decode("utf-8", "replace")


def _last_words(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:") or "Error" in line]
    return (errors or lines or [""])[-1][:500]
