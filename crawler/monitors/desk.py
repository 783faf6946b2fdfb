"""The alert desk: every alert of the platform passes here (a crawl's monitors, freshness,
stalls, schedules that did not start or end, nodes offline), so that people keep reading them.

- **Routing**: the channels of the subject (a rule's ``alerts: {to}``, the routes matching its
  name, tags or site table, else ``MONITORS_ALERTS``: :mod:`.channels`).
- **Deduplication**: a check that keeps failing is alerted once per window
  (``ALERT_DEDUP_WINDOW``, or the rule's ``alerts: {dedup}``), per subject and check; the
  repeats in between are counted, and the next alert says how many there were.
- **Quiet hours** (``ALERT_QUIET_HOURS``, per channel ``quiet_hours``, in
  ``ALERT_TIMEZONE``): an alert is held, and after the quiet hours the channel gets one digest
  of everything held (:meth:`AlertDesk.flush`: called by every report, the data service and
  the scheduler).
- **Resolved**: when a check that failed passes again, the channels that heard of it get one
  "resolved" message.

The state (failing checks, held alerts) is a small SQLite file, ``ALERTS_STATE``, shared by
every process of the machine (crawls, the scheduler, the data service). Sending never raises:
a channel that fails is logged with its reason and counted in the outcome.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawler.core.switches import describe
from crawler.monitors.channels import QUIET, AlertConfig, Subject

logger = logging.getLogger(__name__)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS checks (subject TEXT NOT NULL, name TEXT NOT NULL, "
    "failing_since REAL NOT NULL, last_sent REAL NOT NULL, repeats INTEGER NOT NULL DEFAULT 0, "
    "channels TEXT NOT NULL DEFAULT '[]', message TEXT NOT NULL DEFAULT '', "
    "PRIMARY KEY (subject, name))",
    "CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, "
    "at REAL NOT NULL, title TEXT NOT NULL, lines TEXT NOT NULL, event TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS held_channel ON held (channel, id)",
)
MAX_LINES = 60  # lines of one message
MAX_LINE = 500  # characters of one line


@dataclass
class Outcome:
    """What one report did: checks alerted (``fresh``), suppressed as repeats, resolved; the
    channels that took it, failed, or hold it for their digest."""

    fresh: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def in_quiet_hours(spec: str, when: datetime) -> bool:
    """Whether the wall-clock time ``when`` falls in ``HH:MM-HH:MM`` (which may span midnight).

    >>> at = lambda h, m: datetime(2026, 12, 6, h, m)
    >>> in_quiet_hours("22:00-08:00", at(23, 0)), in_quiet_hours("22:00-08:00", at(8, 0))
    (True, False)
    >>> in_quiet_hours("12:00-13:00", at(12, 30)), in_quiet_hours("", at(12, 30))
    (True, False)
    """
    match = QUIET.match(spec or "")
    if not match:
        return False
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    minute = when.hour * 60 + when.minute
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def _clip(lines: Iterable[str]) -> list[str]:
    out = [line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…" for line in lines]
    if len(out) > MAX_LINES:
        out = out[: MAX_LINES - 1] + [f"… and {len(out) - MAX_LINES + 1} more line(s)"]
    return out


class AlertDesk:
    def __init__(
        self,
        settings: Any,
        now: Callable[[], float] = time.time,
        config: AlertConfig | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or AlertConfig(settings)
        self.path = Path(settings.get("ALERTS_STATE"))
        self.window = settings.getfloat("ALERT_DEDUP_WINDOW")
        zone = settings.get("ALERT_TIMEZONE")
        self.zone = ZoneInfo(zone) if zone else None
        self.max_held = settings.getint("ALERT_MAX_HELD")
        self.now = now

    # -- state ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            conn.execute(statement)
        return conn

    def failing(self, subject: str | None = None) -> list[dict[str, Any]]:
        """The checks failing now (for the API and ``scrapy alerts``)."""
        with closing(self._connect()) as conn:
            sql = "SELECT subject, name, failing_since, last_sent, repeats, channels, message FROM checks"
            rows = conn.execute(
                sql + (" WHERE subject = ?" if subject else "") + " ORDER BY failing_since",
                (subject,) if subject else (),
            ).fetchall()
        return [
            {"subject": r[0], "check": r[1], "failing_since": r[2], "last_sent": r[3],
             "repeats": r[4], "channels": json.loads(r[5]), "message": r[6]}
            for r in rows
        ]  # fmt: skip

    def held(self) -> dict[str, int]:
        """Alerts held for each channel's digest."""
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT channel, COUNT(*) FROM held GROUP BY channel").fetchall()
        return dict(rows)

    # -- reporting --------------------------------------------------------------------------

    def report(
        self,
        subject: Subject,
        checks: Iterable[Mapping[str, Any]],
        title: str,
        event: Mapping[str, Any],
        extra: Iterable[str] = (),
        resolved_event: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Judged checks (``{name, ok, message}``; a skipped one is ignored) of ``subject``:
        alert the new failures, count the repeats, say "resolved" for the recovered."""
        now = self.now()
        self.flush()
        window = subject.dedup if subject.dedup is not None else self.window
        channels = self.config.channels_for(subject)
        outcome = Outcome()
        failures: list[Mapping[str, Any]] = []
        recovered: list[tuple[str, float, list[str]]] = []
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            known = {
                r[0]: r[1:]
                for r in conn.execute(
                    "SELECT name, failing_since, last_sent, repeats, channels FROM checks "
                    "WHERE subject = ?",
                    (subject.key,),
                )
            }
            for check in checks:
                name = str(check["name"])
                if str(check.get("message", "")).startswith("skipped"):
                    continue
                row = known.get(name)
                if check["ok"]:
                    if row is not None:
                        conn.execute(
                            "DELETE FROM checks WHERE subject = ? AND name = ?", (subject.key, name)
                        )
                        recovered.append((name, row[0], json.loads(row[3])))
                        outcome.resolved.append(name)
                    continue
                message = str(check.get("message", ""))[:MAX_LINE]
                if row is None or now - row[1] >= window:
                    failures.append({**check, "repeats": row[2] if row else 0})
                    outcome.fresh.append(name)
                    conn.execute(
                        "INSERT OR REPLACE INTO checks VALUES (?, ?, ?, ?, 0, ?, ?)",
                        (subject.key, name, row[0] if row else now, now, json.dumps(channels),
                         message),
                    )  # fmt: skip
                else:
                    outcome.suppressed.append(name)
                    conn.execute(
                        "UPDATE checks SET repeats = repeats + 1, message = ? "
                        "WHERE subject = ? AND name = ?",
                        (message, subject.key, name),
                    )
            conn.execute("COMMIT")
        if outcome.suppressed:
            logger.info(
                "alert for %s not repeated within %gs: %s", subject.key, window,
                ", ".join(outcome.suppressed),
            )  # fmt: skip
        if failures:
            lines = [
                f"- {c['name']}: {c.get('message', '')}"
                + (
                    f" (repeated {c['repeats']} time(s) since the last alert)"
                    if c["repeats"]
                    else ""
                )
                for c in failures
            ]
            if outcome.suppressed:
                lines.append(f"still failing, already alerted: {', '.join(outcome.suppressed)}")
            body = {**event, "subject": subject.name, "kind": subject.kind,
                    "checks": [c["name"] for c in failures]}  # fmt: skip
            self._deliver(channels, body, title, [*lines, *extra], outcome)
        if recovered:
            self._resolved(subject, recovered, resolved_event, outcome)
        return outcome

    def _resolved(
        self,
        subject: Subject,
        recovered: list[tuple[str, float, list[str]]],
        resolved_event: Mapping[str, Any] | None,
        outcome: Outcome,
    ) -> None:
        names = [name for name, _, _ in recovered]
        title = f"[crawler] {subject.name}: resolved: {', '.join(names)}"
        lines = [f"- {name}: passes again (failing since {self._when(since)})"
                 for name, since, _ in recovered]  # fmt: skip
        body = {"event": "resolved", **(resolved_event or {}), "subject": subject.name,
                "kind": subject.kind, "checks": names}  # fmt: skip
        # the channels that heard of the failures, whatever the routes say now
        heard: list[str] = []
        for _, _, channels in recovered:
            heard += [c for c in channels if c not in heard]
        self._deliver(heard, body, title, lines, outcome)

    def send(self, channels: Iterable[str], event: Mapping[str, Any], title: str,
             lines: Iterable[str]) -> Outcome:  # fmt: skip
        """One message, no check behind it (a test message from the dashboard)."""
        outcome = Outcome()
        self._deliver(list(channels), dict(event), title, list(lines), outcome)
        return outcome

    def _deliver(
        self, channels: list[str], event: dict[str, Any], title: str, lines: list[str],
        outcome: Outcome,
    ) -> None:  # fmt: skip
        lines = _clip(lines)
        now = self.now()
        for name in channels:
            problem = self.config.problem(name)
            if problem:
                logger.error("alert channel %s cannot send (%s): %s not sent", name, problem,
                             event.get("event"))  # fmt: skip
                outcome.failed.append(name)
            elif self.quiet(name, now):
                self._hold(name, now, title, lines, event)
                outcome.held.append(name)
            elif self._send(name, event, title, lines):
                outcome.sent.append(name)
            else:
                outcome.failed.append(name)

    def _send(self, name: str, event: Mapping[str, Any], title: str, lines: list[str]) -> bool:
        try:
            self.config.sender(name).send_event(dict(event), title, lines)
        except Exception as exc:
            logger.error("alert channel %s failed for %s: %s", name, event.get("event"),
                         describe(exc))  # fmt: skip
            return False
        return True

    # -- quiet hours ------------------------------------------------------------------------

    def _local(self, when: float) -> datetime:
        return (
            datetime.fromtimestamp(when, self.zone) if self.zone else datetime.fromtimestamp(when)
        )

    def _when(self, when: float) -> str:
        return self._local(when).strftime("%Y-%m-%d %H:%M")

    def quiet(self, channel: str, when: float | None = None) -> bool:
        return in_quiet_hours(self.config.quiet_hours(channel), self._local(when or self.now()))

    def _hold(self, channel: str, now: float, title: str, lines: list[str],
              event: Mapping[str, Any]) -> None:  # fmt: skip
        with closing(self._connect()) as conn:
            conn.execute(
                "INSERT INTO held (channel, at, title, lines, event) VALUES (?, ?, ?, ?, ?)",
                (channel, now, title, json.dumps(lines, ensure_ascii=False),
                 json.dumps(event, ensure_ascii=False, default=str)),
            )  # fmt: skip
            over = (
                conn.execute("SELECT COUNT(*) FROM held WHERE channel = ?", (channel,)).fetchone()[
                    0
                ]
                - self.max_held
            )
            if over > 0:
                conn.execute(
                    "DELETE FROM held WHERE id IN (SELECT id FROM held WHERE channel = ? "
                    "ORDER BY id LIMIT ?)", (channel, over),
                )  # fmt: skip
                logger.error("alert channel %s: %d held alert(s) dropped (ALERT_MAX_HELD %d)",
                             channel, over, self.max_held)  # fmt: skip
        logger.info("alert for channel %s held until its quiet hours end: %s", channel, title)

    def flush(self) -> list[str]:
        """Send each channel out of its quiet hours one digest of what it holds; the channels
        a digest went to. Alerts whose digest failed are held again for the next flush."""
        now = self.now()
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            waiting = [c for (c,) in conn.execute("SELECT DISTINCT channel FROM held")]
            due = [c for c in waiting if c in self.config.channels and not self.quiet(c, now)]
            taken: dict[str, list[tuple]] = {}
            for channel in due:
                taken[channel] = conn.execute(
                    "SELECT at, title, lines, event FROM held WHERE channel = ? ORDER BY id",
                    (channel,),
                ).fetchall()
                conn.execute("DELETE FROM held WHERE channel = ?", (channel,))
            conn.execute("COMMIT")
        sent = []
        for channel, rows in taken.items():
            title, lines, event = self._digest(channel, rows)
            if self.config.problem(channel) is None and self._send(channel, event, title, lines):
                sent.append(channel)
                continue
            with closing(self._connect()) as conn:  # not lost: held for the next flush
                conn.executemany(
                    "INSERT INTO held (channel, at, title, lines, event) VALUES (?, ?, ?, ?, ?)",
                    [(channel, *row) for row in rows],
                )
        return sent

    def _digest(self, channel: str, rows: list[tuple]) -> tuple[str, list[str], dict[str, Any]]:
        quiet = self.config.quiet_hours(channel)
        title = f"[crawler] digest: {len(rows)} alert(s) held during quiet hours {quiet}".rstrip()
        lines: list[str] = []
        alerts = []
        for at, text, body, event in rows:
            lines.append(f"{self._when(at)} {text}")
            lines += [f"    {line}" for line in json.loads(body)[:5]]
            alerts.append({"at": datetime.fromtimestamp(at, UTC).isoformat(), "title": text,
                           "event": json.loads(event)})  # fmt: skip
        return title, _clip(lines), {"event": "digest", "channel": channel, "alerts": alerts[:200]}
