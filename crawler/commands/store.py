"""``scrapy store replay|runs|log|stats``: look after the store.

* ``scrapy store replay [SPILL_FILE...]``: write spill files (default: every ``*.jsonl`` in
  ``STORE_SPILL_DIR``) and the journals dead crawls left in ``STORE_JOURNAL_DIR`` into the
  store; a spill file is renamed ``*.replayed`` (or deleted with ``--delete``), a journal
  deleted, only once all of it is written. Replaying twice is harmless.
* ``scrapy store runs [--rule R] [--limit N] [--json]``: recent crawl-run records, running ones
  with their live counters.
* ``scrapy store log RUN [--follow]``: the log a crawl kept (RUN: a run id or its first
  characters, or a rule name for its latest run); ``--follow`` prints what a running crawl
  adds until it ends.
* ``scrapy store stats``: documents, dead letters and history per collection.
* ``scrapy store drop NAME --yes``: delete a collection with its history and dead letters (run
  records stay), recorded as the service records it (crawler/service/drop_api.py).

A bad command line (RUN naming no run included) is one line on stderr and exit status 2; a log
that is not there, a store that cannot be opened or fails, one line and exit status 1
(crawler/core/exitcodes.py).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.export import StoreCommandMixin
from crawler.commands.runlogs import RUNS_SCANNED, NoRun, find_run, follow_log, runs_table
from crawler.core.exitcodes import EXIT_CODES
from crawler.core.switches import describe
from crawler.service.indexes import Indexes
from crawler.store import NEAR_DUP_SIGNATURES
from crawler.store.base import Store, dropped_parts
from crawler.store.documents import DEAD_SUFFIX, HISTORY_SUFFIX
from crawler.store.journal import Orphan, replay_orphans
from crawler.store.spill import replay_file, retire, spill_files
from vocab import mask_url

ACTIONS = ("replay", "runs", "log", "stats", "drop")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


class Command(StoreCommandMixin, ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "replay [SPILL_FILE...] | runs [--rule R] | log RUN [--follow] | stats | drop NAME --yes"

    def short_desc(self) -> str:
        return "Replay spill files and journals, show crawl runs and their logs, store statistics"

    def long_desc(self) -> str:
        return (
            "replay: write spill files (default: all in STORE_SPILL_DIR) and the journals of "
            "dead crawls (STORE_JOURNAL_DIR) into the store. runs: recent crawl-run records, "
            "running ones included. log RUN: the log a crawl kept (--follow: until it ends). "
            "stats: documents, dead letters and history per collection. drop NAME --yes: "
            "delete a collection with its history and dead letters (recorded in "
            "SERVICE_DATA_DIR/collection-drops.jsonl)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--store", metavar="URI", help="store URI (default: STORE_URI)")
        parser.add_argument("--rule", metavar="R", help="runs: only this rule")
        parser.add_argument("--limit", metavar="N", type=int, default=20, help="runs: how many")
        parser.add_argument("--json", action="store_true", help="runs: print JSON lines")
        parser.add_argument("--follow", action="store_true", help="log: until the crawl ends")
        parser.add_argument(
            "--delete", action="store_true", help="replay: delete files instead of renaming"
        )
        parser.add_argument("--yes", action="store_true", help="drop: yes, delete it")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        problem = self._usage_problem(args, opts)
        if problem:
            self._usage(problem)
            return
        action, rest = args[0], args[1:]
        files = [Path(a) for a in rest] if action == "replay" else []
        uri = opts.store or self.settings.get("STORE_URI") or ""
        try:
            store = self.open_store_or_fail(opts.store)
        except UsageError as exc:  # no store, or a URI no backend takes
            self._usage(str(exc))
            return
        if store is None:
            return
        try:
            if action == "replay":
                self._replay(store, uri, files, opts.delete, explicit=bool(rest))
            elif action == "runs":
                self._runs(store, opts.rule, opts.limit, opts.json)
            elif action == "log":
                self._log(store, rest[0], opts.follow)
            elif action == "drop":
                self._drop(store, rest[0])
            else:
                self._stats(store)
        except Exception as exc:
            self._fail(f"store {action} on {mask_url(uri)} failed: {describe(exc)}")
        finally:
            store.close()

    @staticmethod
    def _usage_problem(args: list[str], opts: argparse.Namespace) -> str:
        """What is wrong with the command line ("" when nothing)."""
        if not args or args[0] not in ACTIONS:
            return f"give an action: {', '.join(ACTIONS)}"
        action, rest = args[0], args[1:]
        if action == "log" and len(rest) != 1:
            return "use: scrapy store log RUN [--follow]"
        if action == "drop" and (len(rest) != 1 or not opts.yes):
            return "use: scrapy store drop NAME --yes (it deletes the collection for good)"
        if action not in ("replay", "log", "drop") and rest:
            return f"'store {action}' takes no arguments"
        if not 1 <= opts.limit <= RUNS_SCANNED:
            return f"--limit must be 1 to {RUNS_SCANNED}"
        missing = [a for a in rest if action == "replay" and not Path(a).is_file()]
        if missing:
            return f"no such spill file: {', '.join(missing)}"
        return ""

    def _usage(self, message: str) -> None:
        """A bad command line: one line, exit status 2 (crawler/core/exitcodes.py)."""
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = EXIT_CODES["usage_error"]

    def _replay(
        self, store: Store, uri: str, files: list[Path], delete: bool, explicit: bool
    ) -> None:
        batch_size = max(1, self.settings.getint("STORE_BATCH_SIZE"))
        if not explicit:
            spill_dir = Path(self.settings.get("STORE_SPILL_DIR"))
            files = spill_files(spill_dir)
            journal_dir = self.settings.get("STORE_JOURNAL_DIR") or ""
            journals = self._replay_journals(store, uri, Path(journal_dir), batch_size)
            if not files and not journals:
                print(f"nothing to replay: no spill files in {spill_dir}, no journals left")
                return
        for path in files:
            try:
                result = replay_file(store, path, batch_size=batch_size)
            except Exception as exc:
                self._fail(
                    f"replaying {path} into {store.display_uri} failed ({describe(exc)}); the "
                    "file is kept, replay it again later"
                )
                return
            w = result.written
            summary = (
                f"{path}: {w.new} new, {w.updated} updated, {w.unchanged} unchanged, "
                f"{result.dead} dead letter(s), {result.runs} run record(s)"
            )
            if not result.ok:
                lines = ", ".join(map(str, result.bad_lines[:10]))
                self._fail(f"{summary}; unreadable line(s) {lines}: the file is kept")
                continue
            retired = retire(path, delete=delete)
            print(f"{summary} -> {'deleted' if retired is None else retired}")

    def _replay_journals(self, store: Store, uri: str, directory: Path, batch_size: int) -> int:
        if not directory.name:
            return 0
        skipped: list[Orphan] = []
        replays = replay_orphans(store, directory, uri, batch_size, skipped)
        for replay in replays:
            header, w = replay.orphan.header, replay.result.written
            summary = (
                f"journal {replay.orphan.name} (run {header.get('run_id')} of "
                f"{header.get('rule')}, pid {header.get('pid')}): {replay.replayed} item(s) "
                f"replayed ({w.new} new, {w.updated} updated, {w.unchanged} unchanged, "
                f"{replay.result.dead} dead letter(s)); {replay.acknowledged} were stored before"
            )
            if not replay.ok:
                lines = ", ".join(map(str, replay.result.bad_lines[:10]))
                self._fail(f"{summary}; unreadable line(s) {lines}: the journal is kept")
            else:
                print(f"{summary} -> deleted")
        for orphan in skipped:
            print(
                f"journal {orphan.name} belongs to another store: kept (replay it with "
                "--store URI of that store)"
            )
        return len(replays) + len(skipped)

    def _runs(self, store: Store, rule: str | None, limit: int, as_json: bool) -> None:
        runs = store.runs(rule=rule, limit=limit)
        if as_json:
            for run in runs:
                print(json.dumps(run, ensure_ascii=False, default=str))
            return
        if not runs:
            print("no runs recorded" + (f" for rule {rule!r}" if rule else ""))
            return
        print(runs_table(runs))

    def _log(self, store: Store, ident: str, follow: bool) -> None:
        try:
            run = find_run(store, ident)
        except NoRun as exc:  # RUN names no run: a bad command line, as an unknown rule is
            self._usage(str(exc))
            return
        path = run.get("log_file")
        if not path:
            self._fail(f"run {run['run_id']} kept no log (RUN_LOG_DIR was empty)")
            return
        if not Path(path).is_file():
            self._fail(
                f"the log of run {run['run_id']} was kept in {path}, which is not here: it is "
                "on the machine that ran the crawl, or was deleted"
            )
            return
        follow_log(store, run, Path(path), follow)

    def _drop(self, store: Store, name: str) -> None:
        try:
            dropped_parts(name)
        except ValueError as exc:
            self._usage(str(exc))
            return
        if not set(dropped_parts(name).values()) & set(store.collections()):
            self._fail(f"no collection {name!r} in {store.display_uri}")
            return
        data_dir = Path(self.settings.get("SERVICE_DATA_DIR"))
        indexes = Indexes(self.settings, item_types=False, indexes={}, data_dir=data_dir,
                          admin_max=0)  # fmt: skip
        who = {"name": getpass.getuser(), "via": "cli"}
        # here, not at the top: every scrapy command would load FastAPI (~0.2 s) otherwise
        from crawler.service.drop_api import AUDIT_FILE, drop_recorded

        record = drop_recorded(store, name, who, data_dir, indexes)
        print(
            f"dropped {name!r}: {record['items']} item(s), {record['history']} history "
            f"version(s), {record['dead']} dead letter(s); recorded in {data_dir / AUDIT_FILE}"
        )

    def _stats(self, store: Store) -> None:
        names = [n for n in store.collections() if n != NEAR_DUP_SIGNATURES]  # bookkeeping
        bases: dict[str, None] = {}
        for name in names:
            base = name.removesuffix(DEAD_SUFFIX).removesuffix(HISTORY_SUFFIX)
            bases[base] = None
        if not bases:
            print(f"no collections in {store.display_uri}")
            return

        def count(name: str) -> int:
            return store.count(name) if name in names else 0

        rows: list[list[Any]] = [
            [b, count(b), count(b + DEAD_SUFFIX), count(b + HISTORY_SUFFIX)] for b in sorted(bases)
        ]
        print(f"store: {store.display_uri}")
        print(
            _table([[str(c) for c in r] for r in rows], ["collection", "items", "dead", "history"])
        )
        total = [sum(r[i] for r in rows) for i in (1, 2, 3)]
        print(
            f"total: {total[0]} item(s), {total[1]} dead letter(s), {total[2]} history version(s)"
        )
