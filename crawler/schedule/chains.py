"""Chained runs: starting a rule once the rules its ``after:`` names have run.

One mechanism for the scheduler daemon and the data service's run-now (both call it where a
crawl ends and on each tick), with its state in ``SCHEDULE_DIR/chains.json`` (shared by both,
changed under a file lock):

- when a crawl of rule P ends (:meth:`Chains.ended`), each rule S whose ``after:`` names P
  (by name, tag or table: crawler/rules/chains.py) notes P's run, if its status is one of S's
  ``when`` statuses; a run with another status takes back what an earlier run of P gave (the
  latest run of a predecessor is the one that counts);
- S is due (:meth:`Chains.due`) once every one of its predecessors has such a run noted: it is
  started once, its run record's ``trigger`` is ``chain`` and ``triggered_by`` the run ids that
  completed it (one per predecessor);
- whenever S starts, whatever started it (the chain, its schedule, run-now), what was noted for
  it is cleared (:meth:`Chains.started`): it waits again for a new run of every predecessor
  ("after both crawls finished" is after both, since its own last run). A due rule that is
  running already stays due, and starts when its run has ended.
"""

from __future__ import annotations

import fcntl
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.rules import Rule
from crawler.rules.chains import after_of, predecessors, successors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trigger:
    """A chained rule due to start, and the runs (one per predecessor) that made it due."""

    rule: str
    run_ids: tuple[str, ...]


class Chains:
    """What each chained rule has seen of its predecessors since its own last start."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "chains.json"
        self.lock_path = Path(state_dir) / "chains.lock"

    @contextmanager
    def _state(self, write: bool = True) -> Iterator[dict[str, dict[str, str]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                state = {}
            except (OSError, ValueError) as exc:
                logger.warning("ignoring unreadable %s: %s", self.path, exc)
                state = {}
            before = json.dumps(state, sort_keys=True)
            yield state
            if write and json.dumps(state, sort_keys=True) != before:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
                tmp.replace(self.path)

    def ended(self, rules: Mapping[str, Rule], rule: str, run_id: str, status: str) -> None:
        """A crawl of ``rule`` ended with ``status``: note it for the rules that run after it."""
        names = successors(rule, rules)
        if not names:
            return
        with self._state() as state:
            for name in names:
                after = after_of(rules[name])
                pending = state.setdefault(name, {})
                if after is not None and status in after.when:
                    pending[rule] = run_id
                    logger.info("%s: %s ended %s (run %s)", name, rule, status, run_id)
                else:
                    pending.pop(rule, None)
                    logger.info("%s: %s ended %s, not one of %s", name, rule, status, after.when)

    def due(self, rules: Mapping[str, Rule]) -> list[Trigger]:
        """The chained rules every predecessor of which has run as they want."""
        if not self.path.exists():
            return []
        out = []
        with self._state(write=False) as state:
            for name, pending in sorted(state.items()):
                rule = rules.get(name)
                wanted = predecessors(rule, rules) if rule is not None else set()
                if wanted and wanted <= set(pending):
                    out.append(Trigger(name, tuple(pending[p] for p in sorted(wanted))))
        return out

    def started(self, rule: str) -> None:
        """``rule`` started (chained or not): it waits for new runs of its predecessors."""
        if not self.path.exists():
            return
        with self._state() as state:
            state.pop(rule, None)

    def pending(self) -> dict[str, Any]:
        with self._state(write=False) as state:
            return state


def start_due(
    chains: Chains, rules: Mapping[str, Rule], start: Callable[[Trigger], bool]
) -> list[Trigger]:
    """Start each due chained rule with ``start`` (False: not started now, e.g. it is running;
    it stays due); the triggers started. ``start`` calls :meth:`Chains.started` when it did."""
    done = []
    for trigger in chains.due(rules):
        try:
            if start(trigger):
                done.append(trigger)
        except Exception:  # one chained rule that cannot start must not stop the others
            logger.exception("%s: the chained run could not start", trigger.rule)
    return done
