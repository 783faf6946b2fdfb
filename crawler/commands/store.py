"""``scrapy store replay|runs|stats``: look after the store.

* ``scrapy store replay [SPILL_FILE...]``: write spill files (default: every ``*.jsonl`` in
  ``STORE_SPILL_DIR``) into the store; each file is renamed ``*.replayed`` (or deleted with
  ``--delete``) only once all of it is written. Replaying twice is harmless.
* ``scrapy store runs [--rule R] [--limit N] [--json]``: recent crawl-run records.
* ``scrapy store stats``: documents, dead letters and history per collection.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.export import StoreCommandMixin
from crawler.store.base import Store
from crawler.store.documents import DEAD_SUFFIX, HISTORY_SUFFIX
from crawler.store.spill import replay_file, retire, spill_files
from vocab import mask_url

ACTIONS = ("replay", "runs", "stats")


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
        return "replay [SPILL_FILE...] | runs [--rule R] | stats   [--store URI]"

    def short_desc(self) -> str:
        return "Replay spill files, show crawl runs and store statistics"

    def long_desc(self) -> str:
        return (
            "replay: write spill files (default: all in STORE_SPILL_DIR) into the store, then "
            "rename them *.replayed (--delete: remove). runs: recent crawl-run records. "
            "stats: documents, dead letters and history per collection."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--store", metavar="URI", help="store URI (default: STORE_URI)")
        parser.add_argument("--rule", metavar="R", help="runs: only this rule")
        parser.add_argument("--limit", metavar="N", type=int, default=20, help="runs: how many")
        parser.add_argument("--json", action="store_true", help="runs: print JSON lines")
        parser.add_argument(
            "--delete", action="store_true", help="replay: delete files instead of renaming"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"give an action: {', '.join(ACTIONS)}")
        action, rest = args[0], args[1:]
        if action != "replay" and rest:
            raise UsageError(f"'store {action}' takes no arguments", print_help=False)
        files: list[Path] = []
        if action == "replay":
            files = [Path(a) for a in rest]
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise UsageError(f"no such spill file: {', '.join(missing)}", print_help=False)
            if not files:
                spill_dir = Path(self.settings.get("STORE_SPILL_DIR"))
                files = spill_files(spill_dir)
                if not files:
                    print(f"no spill files in {spill_dir}")
                    return
        uri = opts.store or self.settings.get("STORE_URI") or ""
        store = self.open_store_or_fail(opts.store)
        if store is None:
            return
        try:
            if action == "replay":
                self._replay(store, files, opts.delete)
            elif action == "runs":
                self._runs(store, opts.rule, opts.limit, opts.json)
            else:
                self._stats(store)
        except Exception as exc:
            self._fail(f"store {action} on {mask_url(uri)} failed: {type(exc).__name__}: {exc}")
        finally:
            store.close()

    def _replay(self, store: Store, files: list[Path], delete: bool) -> None:
        batch_size = max(1, self.settings.getint("STORE_BATCH_SIZE"))
        for path in files:
            try:
                result = replay_file(store, path, batch_size=batch_size)
            except Exception as exc:
                self._fail(
                    f"replaying {path} into {store.display_uri} failed ({type(exc).__name__}: "
                    f"{exc}); the file is kept, replay it again later"
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

    def _runs(self, store: Store, rule: str | None, limit: int, as_json: bool) -> None:
        runs = store.runs(rule=rule, limit=limit)
        if as_json:
            for run in runs:
                print(json.dumps(run, ensure_ascii=False, default=str))
            return
        if not runs:
            print("no runs recorded" + (f" for rule {rule!r}" if rule else ""))
            return
        header = [
            "started",
            "rule",
            "finish",
            "pages",
            "items",
            "new",
            "upd",
            "same",
            "dead",
            "errors",
            "bans",
        ]
        rows = [
            [
                str(r.get("started_at") or "?"),
                str(r.get("rule")),
                str(r.get("finish_reason")),
                *(
                    str(r.get(k, 0))
                    for k in (
                        "pages",
                        "items",
                        "new",
                        "updated",
                        "unchanged",
                        "dead",
                        "errors",
                        "bans",
                    )
                ),
            ]
            for r in runs
        ]
        print(_table(rows, header))

    def _stats(self, store: Store) -> None:
        names = store.collections()
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
