"""The scheduler daemon: starts each rule's crawl when its ``schedule:`` says, as a process.

One tick (every ``SCHEDULE_TICK`` seconds) does, in order:

1. re-read the rules directory: added, changed and removed rule files take effect at once (a
   broken file keeps its last good schedule, with a warning, so a typo does not silently stop
   a crawl);
2. reap finished crawls: record the run (exit status, log file, in the store beside the
   crawl's own record) and, if it failed with a status worth another attempt (:data:`RETRIED`:
   not a usage or rule error, not a failed monitor, not a crawl stopped for its ``timeout``),
   schedule a retry after ``retry_delay`` while attempts remain (``retries``); stop crawls that
   outlived their ``timeout``;
3. start the chained runs due (``after:``, crawler/schedule/chains.py), then what is due. A
   rule never runs twice at once: a fire time that comes while the previous run goes on is
   skipped; a lock file per rule keeps ``--run-now`` and a second daemon out (when distributed,
   a lock in Redis does the same for daemons on other machines).

Fire times missed while the daemon was down (or ticks later than ``SCHEDULE_MISFIRE_GRACE``)
run once at start when the schedule says ``catch_up: true``, and are skipped otherwise. The
last fire time of each rule is kept in ``SCHEDULE_DIR/state.json`` for this.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.defaults.distributed import REDIS_PARAMS_BASE
from crawler.rules import CompileContext, load_rules
from crawler.rules.model import Rule, Schedule
from crawler.schedule.chains import Chains, Trigger, start_due
from crawler.schedule.jobs import (
    Job,
    Running,
    job_key,
    launch_scrapy,
    listing,
    read_state,
    terminate,
    write_state,
)
from crawler.schedule.locks import RuleLock, SharedRuleLock
from crawler.schedule.pauses import Pauses
from crawler.schedule.scheduled_runs import NOT_RETRIED_WHY, RETRIED, complete_run_record, status_of
from crawler.schedule.timing import iso_utc, missed_fire, next_fire, utc_now

logger = logging.getLogger(__name__)


Clock = Callable[[], datetime]
# (argv after "scrapy", log file) -> the crawl process
Launcher = Callable[[list[str], Path], subprocess.Popen]


@dataclass(frozen=True)
class DaemonConfig:
    rules_dir: Path
    state_dir: Path
    store_uri: str = ""
    misfire_grace: float = 60.0
    stop_grace: float = 30.0  # SIGTERM, then SIGKILL after this long
    crawl_settings: tuple[tuple[str, str], ...] = ()  # passed to each crawl as -s NAME=VALUE
    context: CompileContext | None = None  # what rules are compiled against (the project's)
    distributed: bool = False  # each scheduled run seeds the Redis queue itself
    # With a Redis URL, a rule's run also takes a lock in Redis, so that daemons on several
    # machines never run one rule at once either.
    redis_url: str = ""
    redis_params: dict[str, Any] = field(default_factory=lambda: dict(REDIS_PARAMS_BASE))
    redis_lock_ttl: float = 60.0  # refreshed every tick; a dead daemon's lock expires
    # Only the rules with one of these tags (``scrapy schedule --tag gov``); empty: every rule.
    tags: frozenset[str] = frozenset()


class ScheduleDaemon:
    def __init__(
        self, config: DaemonConfig, *, clock: Clock = utc_now, launcher: Launcher = launch_scrapy
    ) -> None:
        self.config = config
        self.clock = clock
        self.launcher = launcher
        self.jobs: dict[str, Job] = {}
        self.running: dict[str, Running] = {}
        self.finished: list[dict[str, Any]] = []  # run records written, newest last
        self._files: dict[str, str] = {}  # rule -> file, for broken-file warnings
        self._warned: set[tuple[str, int]] = set()
        self.state_path = config.state_dir / "state.json"
        self.log_dir = config.state_dir / "logs"
        self.lock_dir = config.state_dir / "locks"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.state = read_state(self.state_path)
        self.pauses = Pauses(config.state_dir)
        self.chains = Chains(config.state_dir)  # rules run after others (chained runs)
        self.rules: dict[str, Rule] = {}  # every rule, for the chains
        self.redis = None
        if config.redis_url:
            import redis

            self.redis = redis.Redis.from_url(config.redis_url, **config.redis_params)

    # --- rules --------------------------------------------------------------------------------

    def reload(self) -> None:
        ruleset = load_rules(self.config.rules_dir, self.config.context)
        rules, problems = ruleset.rules, ruleset.errors
        self.rules = dict(rules)
        now = self.clock()
        broken_stems = {Path(p.file).stem for p in problems}
        for problem_file in {p.file for p in problems}:
            key = (problem_file, Path(problem_file).stat().st_mtime_ns)
            if key not in self._warned:
                self._warned.add(key)
                details = "; ".join(str(p) for p in problems if p.file == problem_file)
                logger.warning("rule file has problems, its last good schedule stays: %s", details)
        scheduled = {
            name: rule
            for name, rule in rules.items()
            if rule.schedules and (not self.config.tags or self.config.tags & set(rule.tags))
        }
        keys: set[str] = set()
        for name, rule in scheduled.items():
            self._files[name] = str(rule.path)
            for schedule in rule.schedules:
                if not schedule.enabled:
                    continue
                key = job_key(name, schedule)
                keys.add(key)
                job = self.jobs.get(key)
                if job is None:
                    job = self.jobs[key] = self._new_job(rule, schedule, key, now)
                    when = f"{schedule.cron} {schedule.timezone}"
                    logger.info(
                        "scheduled %s (%s): next run %s", key, when, job.next_run.isoformat()
                    )
                elif job.schedule != schedule:
                    job.schedule = schedule
                    job.next_run = next_fire(schedule, now)
                    logger.info(
                        "schedule of %s changed: next run %s", key, job.next_run.isoformat()
                    )
        for key in list(self.jobs):
            if key in keys:
                continue
            path = self._files.get(self.jobs[key].rule)
            if path and Path(path).exists() and Path(path).stem in broken_stems:
                continue  # broken for now: keep the last good schedule
            del self.jobs[key]
            logger.info("%s is no longer scheduled (rule removed or schedule dropped)", key)

    def _new_job(self, rule: Rule, schedule: Schedule, key: str, now: datetime) -> Job:
        last = self.state.get(key, {}).get("last_fire")
        job = Job(rule.name, schedule, next_fire(schedule, now), key=key)
        if last and schedule.catch_up:
            missed = missed_fire(schedule, datetime.fromisoformat(last), now)
            if missed is not None:
                job.next_run = missed  # due now: the catch-up run
        return job

    # --- the tick -----------------------------------------------------------------------------

    def tick(self) -> None:
        self.reload()
        self.reap()
        start_due(self.chains, self.rules, self._start_chained)
        now = self.clock()
        for job in list(self.jobs.values()):
            if job.retry_at is not None and now >= job.retry_at and job.rule not in self.running:
                job.retry_at = None
                job.attempt += 1
                self.start(job.rule, trigger="retry", attempt=job.attempt, fire=job.fire, job=job)
            if now < job.next_run:
                continue
            if self.pauses.is_paused(job.rule):  # paused from the data service: let it pass
                self._remember_fire(job.key, job.next_run)
                job.next_run = next_fire(job.schedule, now)
                continue
            fire = job.next_run
            job.next_run = next_fire(job.schedule, now)
            late = (now - fire).total_seconds()
            trigger = "schedule"
            if late > self.config.misfire_grace:
                if not job.schedule.catch_up:
                    logger.warning(
                        "%s: missed the run due %s (%.0f s late); next run %s",
                        job.rule,
                        fire.isoformat(),
                        late,
                        job.next_run.isoformat(),
                    )
                    self._remember_fire(job.key, fire)
                    continue
                trigger = "catch_up"
            if job.rule in self.running:
                job.skipped_overlap += 1
                logger.warning(
                    "%s: the run due %s is skipped, the previous run is still going",
                    job.rule,
                    fire.isoformat(),
                )
                self._remember_fire(job.key, fire)
                continue
            job.fire, job.attempt, job.retry_at = fire, 1, None
            self._remember_fire(job.key, fire)
            self.start(job.rule, trigger=trigger, attempt=1, fire=fire, job=job)

    def start(
        self,
        rule: str,
        *,
        trigger: str,
        attempt: int = 1,
        fire: datetime | None = None,
        job: Job | None = None,
        triggered_by: tuple[str, ...] = (),
    ) -> Running | None:
        """Start a crawl of ``rule`` now; None if one is already running (here or elsewhere)."""
        if rule in self.running:
            return None
        lock = RuleLock(self.lock_dir, rule)
        if not lock.acquire():
            logger.warning("%s is already being crawled by another process; not starting", rule)
            return None
        now = self.clock()
        run_id = uuid.uuid4().hex
        shared = None
        if self.redis is not None:
            shared = SharedRuleLock(self.redis, rule, run_id, self.config.redis_lock_ttl)
            try:
                acquired = shared.acquire()
            except Exception as exc:  # no Redis, no way to know: do not risk a double run
                acquired = False
                logger.error("%s: cannot take the shared lock in Redis: %s", rule, exc)
            if not acquired:
                lock.release()
                logger.warning("%s is being crawled from another machine; not starting", rule)
                return None
        log_file = self.log_dir / f"{rule}-{now.strftime('%Y%m%dT%H%M%SZ')}-{run_id[:8]}.log"
        job = job if job is not None else self.jobs.get(rule)
        schedule = job.schedule if job is not None else None
        try:
            proc = self.launcher(self.crawl_argv(rule, schedule, run_id), log_file)
        except OSError as exc:
            lock.release()
            if shared is not None:
                shared.release()
            logger.error("%s: cannot start the crawl: %s", rule, exc)
            return None
        deadline = None
        if schedule is not None and schedule.timeout:
            deadline = now + timedelta(seconds=schedule.timeout)
        run = Running(
            rule, run_id, proc, lock, log_file, now, trigger, attempt, fire, deadline, shared,
            job=job.key if job is not None else "", triggered_by=triggered_by,
        )  # fmt: skip
        self.running[rule] = run
        self.chains.started(rule)
        logger.info(
            "started %s (%s, attempt %d, pid %d), log %s",
            rule,
            trigger,
            attempt,
            proc.pid,
            log_file,
        )
        return run

    def _start_chained(self, trigger: Trigger) -> bool:
        rule = self.rules.get(trigger.rule)  # one of this daemon's rules (--tag), not paused
        if rule is None or (self.config.tags and not self.config.tags & set(rule.tags)):
            return False
        if self.pauses.is_paused(trigger.rule) or trigger.rule in self.running:
            return False  # it stays due
        return self.start(trigger.rule, trigger="chain", triggered_by=trigger.run_ids) is not None

    def crawl_argv(self, rule: str, schedule: Schedule | None, run_id: str) -> list[str]:
        argv = ["crawl", rule]
        for name, value in (schedule.args if schedule is not None else {}).items():
            argv += ["-a", f"{name}={value}"]
        # The run id made here is the crawl's own (RUN_ID): its record, its log file's name
        # and the daemon's records share it. SCHEDULE_RUN_ID says the crawl was scheduled.
        own = {"RUN_ID": run_id, "SCHEDULE_RUN_ID": run_id}
        settings = [(n, v) for n, v in self.config.crawl_settings if n not in own]
        settings += own.items()
        if self.config.distributed:
            settings.append(("DISTRIBUTED_SEED", "1"))
        for name, value in settings:
            argv += ["-s", f"{name}={value}"]
        return argv

    def reap(self) -> None:
        now = self.clock()
        for rule, run in list(self.running.items()):
            code = run.proc.poll()
            if code is None:
                self._enforce_deadline(run, now)
                self._refresh_shared_lock(run)
                continue
            del self.running[rule]
            run.lock.release()
            if run.shared_lock is not None:
                try:
                    run.shared_lock.release()
                except Exception as exc:  # it expires by itself
                    logger.warning("%s: cannot release the shared lock: %s", rule, exc)
            self._finish(run, code, now)

    def _refresh_shared_lock(self, run: Running) -> None:
        if run.shared_lock is None:
            return
        try:
            run.shared_lock.refresh()
        except Exception as exc:  # a Redis hiccup; the TTL leaves time for the next tick
            logger.warning("%s: cannot refresh the shared lock: %s", run.rule, exc)

    def _enforce_deadline(self, run: Running, now: datetime) -> None:
        if run.deadline is None or now < run.deadline:
            return
        if run.terminated_at is None:
            logger.warning("%s ran past its timeout: stopping it", run.rule)
            run.notes.append("timeout")
            run.terminated_at = now
            run.proc.send_signal(signal.SIGTERM)  # Scrapy closes the crawl cleanly
        elif (now - run.terminated_at).total_seconds() > self.config.stop_grace:
            run.proc.kill()

    def _finish(self, run: Running, code: int, now: datetime) -> None:
        record = {
            "schedule_run_id": run.run_id,
            "rule": run.rule,
            "process_started_at": iso_utc(run.started_at),
            "process_finished_at": iso_utc(now),
            "exit_status": code,
            "log_file": str(run.log_file),
            "trigger": run.trigger,
            "attempt": run.attempt,
            "scheduled_for": iso_utc(run.fire) if run.fire else None,
            "notes": run.notes,
            **({"triggered_by": list(run.triggered_by)} if run.triggered_by else {}),
        }
        if self.config.store_uri:
            try:
                record = complete_run_record(self.config.store_uri, record)
            except Exception as exc:  # the store being down must not stop the schedule
                logger.error("%s: could not record the run in the store: %s", run.rule, exc)
        self.finished.append(record)
        failed = code != 0
        status = record.get("status") or status_of(code)
        logger.log(
            logging.WARNING if failed else logging.INFO,
            "%s finished with exit status %d, %s (%s, attempt %d)",
            run.rule, code, status, run.trigger, run.attempt,
        )  # fmt: skip
        self.chains.ended(self.rules, run.rule, run.run_id, status)
        job = self.jobs.get(run.job or run.rule)
        if failed and job is not None and run.trigger != "manual":
            if status not in RETRIED or "timeout" in run.notes:
                logger.error(
                    "%s: not retried (%s: %s)",
                    run.rule,
                    status,
                    "it ran past its timeout" if "timeout" in run.notes else NOT_RETRIED_WHY,
                )
            elif job.attempt <= job.schedule.retries:
                job.retry_at = now + timedelta(seconds=job.schedule.retry_delay)
                logger.info("%s: retry at %s", run.rule, job.retry_at.isoformat())
            else:
                logger.error(
                    "%s failed %d time(s); giving up until the next run", run.rule, job.attempt
                )

    # --- running ------------------------------------------------------------------------------

    def serve(self, stop: threading.Event, tick: float = 1.0) -> None:
        self.reload()
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # one bad tick (a rules dir on a flaky mount) must not end it
                logger.exception("scheduler tick failed")
            stop.wait(tick)
        self.shutdown()

    def shutdown(self) -> None:
        """Stop running crawls (SIGTERM, then SIGKILL after ``stop_grace``) and record them."""
        for run in self.running.values():
            if run.proc.poll() is None:
                run.notes.append("scheduler stopped")
        terminate([run.proc for run in self.running.values()], self.config.stop_grace)
        self.reap()

    def wait_for(self, rule: str, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the running crawl of ``rule`` ends; its run record."""
        run = self.running.get(rule)
        if run is None:
            return None
        try:
            run.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reap()
        return self.finished[-1]

    def listing(self) -> list[dict[str, Any]]:
        """Each scheduled rule with its next run, for ``scrapy schedule --list``."""
        return listing(self.jobs, self.state, self.pauses)

    # --- state --------------------------------------------------------------------------------

    def _remember_fire(self, key: str, fire: datetime) -> None:
        self.state.setdefault(key, {})["last_fire"] = fire.isoformat()
        write_state(self.state_path, self.state)
