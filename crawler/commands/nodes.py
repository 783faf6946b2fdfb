"""``scrapy nodes <list|add|remove|deploy|run|stop|status|log>``: the fleet of Scrapyd nodes
from the command line, as the dashboard's Nodes page does it (docs/nodes.md).

    scrapy nodes list                         # health, load, deployed version, crawls running
    scrapy nodes add NAME URL [--username U]  # password read from $NODE_PASSWORD (or --password-env)
    scrapy nodes remove NAME
    scrapy nodes deploy [NAME ...]            # the project and its rules, as an egg
    scrapy nodes run RULE [-a K=V] [--node NAME] [--workers N] [--wait]
    scrapy nodes stop RUN_ID
    scrapy nodes status RUN_ID                # a run's record, its workers brought up to date
    scrapy nodes log RUN_ID [--worker W]      # a crawl's log fetched from its node

Errors (a node that does not answer, wrong credentials, nothing deployed) are one line, exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from crawler.nodes import (
    Fleet,
    NodeError,
    NodesError,
    add_node,
    log_source,
    remove_node,
    settle,
    start_distributed,
    stop_run,
)
from crawler.store import open_store

ACTIONS = ("list", "add", "remove", "deploy", "run", "stop", "status", "log")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "<list|add|remove|deploy|run|stop|status|log> [options]"

    def short_desc(self) -> str:
        return "The fleet of Scrapyd nodes: list, add, deploy, run, stop, status, log"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-a",
            dest="spargs",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="rule argument (run)",
        )
        parser.add_argument("--node", help="the node to run on (run; default: the least loaded)")
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="a distributed run of N workers over the nodes (run)",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait for the run to end; exit with its status (run)",
        )
        parser.add_argument("--username", default="", help="the node's Scrapyd username (add)")
        parser.add_argument(
            "--password-env",
            default="NODE_PASSWORD",
            help="environment variable holding its password (add)",
        )
        parser.add_argument("--slots", type=int, default=0, help="the node's max_proc (add)")
        parser.add_argument("--worker", help="one worker's log (log)")
        parser.add_argument("--json", action="store_true", help="print JSON (list, status)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"name an action: {', '.join(ACTIONS)}")
        self.fleet = Fleet(self.settings)
        try:
            self.exitcode = getattr(self, f"do_{args[0]}")(args[1:], opts) or 0
        except (NodeError, NodesError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = 1

    def store(self) -> Any:
        uri = self.settings.get("STORE_URI")
        if not uri:
            raise NodeError("STORE_URI is empty: runs on nodes are recorded in the store")
        store = open_store(uri, self.settings)
        store.open()
        return store

    def do_list(self, args: list[str], opts: argparse.Namespace) -> int:
        rows = self.fleet.status()
        if opts.json:
            print(json.dumps(rows, indent=2, default=str))
            return 0
        if not rows:
            print("no nodes: add one with `scrapy nodes add NAME URL`, or set NODES")
            return 0
        here = self.fleet.digest()
        for row in rows:
            version = row["version"] or "-"
            mark = " (current)" if version.endswith(f"_{here}") else ""
            load = (
                f"{row['running']} running, {row['pending']} pending"
                if row["status"] == "online"
                else row["error"]
            )
            print(f"{row['name']:<16} {row['status']:<12} {row['url']:<28} {version}{mark}  {load}")
            for w in row["workers"]:
                print(
                    f"    {w['rule']} run {w['run_id']} pid {w['pid']}: {w['pages']} pages, {w['items']} items, {w['rate']}/min, {w['rss'] // 2**20} MiB"
                )
        return 0 if all(r["status"] == "online" for r in rows) else 1

    def do_add(self, args: list[str], opts: argparse.Namespace) -> int:
        if len(args) != 2:
            raise UsageError("scrapy nodes add NAME URL [--username U --password-env VAR]")
        password = os.environ.get(opts.password_env, "") if opts.username else ""
        if opts.username and not password:
            raise NodesError(
                f"${opts.password_env} is not set: the node's password is read from it"
            )
        node = add_node(self.settings, args[0], args[1], opts.username, password, opts.slots)
        answer = self.fleet.client(node).daemonstatus()
        print(
            f"added node {node.name} ({node.url}): {answer.get('running')} running, {answer.get('pending')} pending"
        )
        return 0

    def do_remove(self, args: list[str], opts: argparse.Namespace) -> int:
        if len(args) != 1:
            raise UsageError("scrapy nodes remove NAME")
        if not remove_node(self.settings, args[0]):
            raise NodesError(f"no node {args[0]!r} in {self.settings.get('NODES_FILE')}")
        print(f"removed node {args[0]}")
        return 0

    def do_deploy(self, args: list[str], opts: argparse.Namespace) -> int:
        egg, results = self.fleet.deploy(args or None)
        for r in results:
            said = (
                r["error"]
                if not r["ok"]
                else ("already there" if r["unchanged"] else f"{r['spiders']} spiders")
            )
            print(f"{r['node']:<16} {r.get('version') or egg.version}: {said}")
        return 0 if all(r["ok"] for r in results) else 1

    def do_run(self, args: list[str], opts: argparse.Namespace) -> int:
        if len(args) != 1:
            raise UsageError("scrapy nodes run RULE [-a NAME=VALUE] [--node NAME] [--workers N]")
        rule = args[0]
        if rule not in get_spider_loader(self.settings).list():
            raise UsageError(f"no rule {rule!r} in {self.settings.get('RULES_DIR')}")
        rule_args = dict(a.partition("=")[::2] for a in opts.spargs)
        store = self.store()
        try:
            if opts.workers:
                record = start_distributed(
                    self.fleet,
                    store,
                    rule,
                    rule_args,
                    opts.workers,
                    nodes=[opts.node] if opts.node else None,
                    trigger="cli",
                )
                run_id = record["run_id"]
                print(
                    f"run {run_id}: {rule} on {len(record['workers'])} worker(s): "
                    + ", ".join(f"{w['worker']}@{w['node']}" for w in record["workers"])
                )
            else:
                run_id = uuid.uuid4().hex
                node, job = self.fleet.start(rule, rule_args, node=opts.node, run_id=run_id)
                print(f"run {run_id}: {rule} on node {node.name} (job {job})")
            if not opts.wait:
                return 0
            return self.wait(store, run_id)
        finally:
            store.close()

    def wait(self, store: Any, run_id: str) -> int:
        offsets: dict[str, int] = {}
        while True:
            record = settle(self.fleet, store, run_id, offsets) or {}
            status = record.get("status")
            if status not in (None, "running"):
                print(
                    f"run {run_id}: {status} ({record.get('pages')} pages, {record.get('items')} items){': ' + record['status_reason'] if record.get('status_reason') else ''}"
                )
                return int(record.get("exit_code") or 0)
            time.sleep(1.0)

    def do_stop(self, args: list[str], opts: argparse.Namespace) -> int:
        if len(args) != 1:
            raise UsageError("scrapy nodes stop RUN_ID")
        store = self.store()
        try:
            record = store.get_run(args[0])
        finally:
            store.close()
        if record is None:
            raise NodesError(f"no run {args[0]!r} in the store")
        cancelled = stop_run(self.fleet, record)
        print(f"run {args[0]}: cancelled {len(cancelled)} job(s)")
        return 0 if cancelled else 1

    def do_status(self, args: list[str], opts: argparse.Namespace) -> int:
        if len(args) != 1:
            raise UsageError("scrapy nodes status RUN_ID")
        store = self.store()
        try:
            record = settle(self.fleet, store, args[0])
        finally:
            store.close()
        if record is None:
            raise NodesError(f"no run {args[0]!r} in the store")
        if opts.json:
            print(json.dumps(record, indent=2, default=str))
            return 0
        print(
            f"run {record['run_id']} of {record['rule']}: {record['status']}, {record.get('pages')} pages, {record.get('items')} items"
        )
        for w in record.get("workers") or []:
            print(
                f"    {w['worker']} on {w['node']}: {w.get('state')}, {w.get('pages', 0)} pages, {w.get('items', 0)} items"
            )
        return 0

    def do_log(self, args: list[str], opts: argparse.Namespace) -> int:
        if len(args) != 1:
            raise UsageError("scrapy nodes log RUN_ID [--worker W]")
        store = self.store()
        try:
            record = store.get_run(args[0])
        finally:
            store.close()
        if record is None:
            raise NodesError(f"no run {args[0]!r} in the store")
        source = log_source(self.fleet, record, opts.worker)
        offset = 0
        while True:
            data, size = source.read(offset, 1024 * 1024)
            sys.stdout.write(data.decode("utf-8", "replace"))
            offset += len(data)
            if not data or offset >= size:
                return 0
