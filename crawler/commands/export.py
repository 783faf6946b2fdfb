"""``scrapy export <collection> -o FILE.jsonl|FILE.csv|FILE.xlsx``: write a stored collection
to a file (Excel: as the service's export writes it, crawler/service/spreadsheet.py).

``scrapy export --list`` lists the collections with their document counts. Works on either
backend; ``--store URI`` overrides ``STORE_URI``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.core.switches import describe
from crawler.service.spreadsheet import neutral  # (imports no spreadsheet library)
from crawler.store import NEAR_DUP_SIGNATURES, Store, open_store
from crawler.store.documents import dumps
from vocab import mask_url

FORMATS = {".jsonl": "jsonl", ".jl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".xlsx": "xlsx"}


def csv_cell(value: Any) -> str:
    """A value as CSV text: lists, dicts and booleans as JSON, None as empty; text that a
    spreadsheet would run as a formula with a ``'`` before it, as the service's CSV does
    (crawler/service/spreadsheet.py: OWASP's advice on CSV injection); numbers stay numbers.

    >>> csv_cell(["a", 1]), csv_cell(None), csv_cell(True), csv_cell(2.5), csv_cell(-3)
    ('["a",1]', '', 'true', '2.5', '-3')
    >>> print(csv_cell('=HYPERLINK("http://x","y")'), csv_cell("a=b"))
    '=HYPERLINK("http://x","y") a=b
    """
    if value is None:
        return ""
    if isinstance(value, list | dict | bool):
        return dumps(value)
    if isinstance(value, str):
        return neutral(value)
    return str(value)


def csv_header(docs: Iterator[dict[str, Any]]) -> list[str]:
    """The union of the documents' keys, in first-seen order, metadata (``_*``) last."""
    seen: dict[str, None] = {}
    for doc in docs:
        seen.update(dict.fromkeys(doc))
    return [k for k in seen if not k.startswith("_")] + [k for k in seen if k.startswith("_")]


def store_from(settings: Any, uri: str | None) -> Store:
    """The store named by ``--store`` or ``STORE_URI``, opened; UsageError if there is none."""
    uri = uri or settings.get("STORE_URI")
    if not uri:
        raise UsageError("no store: set STORE_URI or pass --store URI", print_help=False)
    try:
        store = open_store(uri, settings)
    except ValueError as exc:
        raise UsageError(str(exc), print_help=False) from None
    store.open()
    return store


class StoreCommandMixin:
    """Opening the store, and failing without a traceback, for the store commands."""

    settings: Any
    exitcode: int

    def open_store_or_fail(self, uri: str | None) -> Store | None:
        """The store (``--store`` or ``STORE_URI``), or None after printing why it cannot open."""
        try:
            return store_from(self.settings, uri)
        except UsageError:
            raise
        except Exception as exc:  # an unreachable server, an unreadable file: no traceback
            shown = mask_url(uri or self.settings.get("STORE_URI") or "")
            self._fail(f"cannot open store {shown}: {describe(exc)}")
            return None

    def _fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = 1


class Command(StoreCommandMixin, ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "<collection> -o FILE.jsonl|FILE.csv|FILE.xlsx [--store URI] [--limit N] | --list"

    def short_desc(self) -> str:
        return "Export a stored collection to JSON lines or CSV"

    def long_desc(self) -> str:
        return (
            "Export a stored collection to JSON lines (.jsonl, or -o - for stdout) or CSV "
            "(.csv: header is the union of keys, lists and dicts as JSON) or Excel (.xlsx). "
            "--list shows the collections and their counts."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", help="FILE.jsonl, .csv, .xlsx or -")
        parser.add_argument("--store", metavar="URI", help="store URI (default: STORE_URI)")
        parser.add_argument("--limit", metavar="N", type=int, help="export at most N documents")
        parser.add_argument("--list", action="store_true", help="list collections with counts")
        parser.add_argument(
            "--no-meta", action="store_true", help="leave out metadata fields (starting with _)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if not opts.list:
            if len(args) != 1:
                raise UsageError("give exactly one collection (or --list)")
            if not opts.output:
                raise UsageError("give the output file with -o FILE.jsonl or -o FILE.csv")
            fmt = "jsonl" if opts.output == "-" else FORMATS.get(Path(opts.output).suffix.lower())
            if fmt is None:
                raise UsageError(
                    f"cannot tell the format of {opts.output!r}: use .jsonl, .csv or .xlsx",
                    print_help=False,
                )
            if opts.limit is not None and opts.limit < 0:
                raise UsageError("--limit must be >= 0", print_help=False)
        uri = opts.store or self.settings.get("STORE_URI") or ""
        store = self.open_store_or_fail(opts.store)
        if store is None:
            return
        try:
            if opts.list:
                self._list(store)
            else:
                self._export(store, args[0], opts.output, fmt, opts.limit, opts.no_meta)
        except Exception as exc:
            self._fail(f"export from {mask_url(uri)} failed: {type(exc).__name__}: {exc}")
        finally:
            store.close()

    def _list(self, store: Store) -> None:
        names = [n for n in store.collections() if n != NEAR_DUP_SIGNATURES]  # bookkeeping
        if not names:
            print(f"no collections in {store.display_uri}")
            return
        width = max(len(n) for n in names)
        for name in names:
            print(f"{name:<{width}}  {store.count(name)}")

    def _export(
        self,
        store: Store,
        collection: str,
        output: str,
        fmt: str,
        limit: int | None,
        no_meta: bool,
    ) -> None:
        if collection not in store.collections():
            known = ", ".join(store.collections()) or "none"
            self._fail(
                f"no collection {collection!r} in {store.display_uri} (collections: {known})"
            )
            return

        def docs() -> Iterator[dict[str, Any]]:
            for doc in store.find(collection, limit=limit):
                if no_meta:
                    doc = {k: v for k, v in doc.items() if not k.startswith("_")}
                yield doc

        if output == "-":
            n = self._write_jsonl(docs, sys.stdout)
        else:
            path = Path(output)
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "xlsx":  # columns: a first pass, as for CSV
                from crawler.service.spreadsheet import write_xlsx  # openpyxl: only when used

                n = write_xlsx(path, csv_header(docs()), docs()).rows
                print(f"exported {n} document(s) from {collection!r} to {output}", file=sys.stderr)
                return
            with path.open("w", encoding="utf-8", newline="") as out:
                write = self._write_csv if fmt == "csv" else self._write_jsonl
                n = write(docs, out)
        print(f"exported {n} document(s) from {collection!r} to {output}", file=sys.stderr)

    @staticmethod
    def _write_jsonl(docs: Callable[[], Iterator[dict[str, Any]]], out: IO[str]) -> int:
        n = 0
        for doc in docs():
            out.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
            n += 1
        return n

    @staticmethod
    def _write_csv(docs: Callable[[], Iterator[dict[str, Any]]], out: IO[str]) -> int:
        header = csv_header(docs())  # first pass: the union of keys, without holding documents
        writer = csv.writer(out)
        writer.writerow([neutral(name) for name in header])
        n = 0
        for doc in docs():
            writer.writerow([csv_cell(doc.get(k)) for k in header])
            n += 1
        return n
