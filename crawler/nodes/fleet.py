"""The fleet: what each node is doing, deploying the project to them, and sending crawls there.

- :meth:`Fleet.status`: every node's health (Scrapyd's ``daemonstatus``, the versions deployed)
  and the crawls running there (their heartbeats in Redis: :mod:`.heartbeat`), asked of all
  nodes at once.
- :meth:`Fleet.deploy`: the project's egg (:mod:`.egg`) to every node (or some); a node that
  has this content already is left alone.
- :meth:`Fleet.start`: one crawl on a node (a chosen one, else the least loaded: fewest crawls
  running and pending, per slot); :meth:`Fleet.start_distributed`: seed the rule's Redis queue
  once here, then N workers spread over the nodes (:mod:`.fleet_runs` keeps their one record);
  :meth:`Fleet.stop`: cancel a run's jobs on every node.
- :meth:`Fleet.launcher`: the same ``(argv, log_file) -> process`` the scheduler and the data
  service start local crawls with, returning a :class:`NodeJob` that behaves as the process.

Settings passed to a crawl on a node are visible in Scrapyd's API (``listjobs``): a value
holding credentials (a URL with a password) is never passed; the node's own environment gives
it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from crawler.nodes.egg import Egg, build_egg, bundle_files, content_digest, digest_of
from crawler.nodes.registry import NodesError, load_nodes
from crawler.nodes.scrapyd import Node, NodeError, Scrapyd
from vocab import mask_url
from vocab.datadir import project_root

logger = logging.getLogger(__name__)

JOB_STATES = ("pending", "running", "finished")


def secret_free(settings: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """``(settings that may be shown, names of those left out for holding credentials)``.

    >>> secret_free({"STORE_URI": "postgresql://u:pw@db/x", "RUN_ID": "r1"})
    ({'RUN_ID': 'r1'}, ['STORE_URI'])
    """
    kept, left = {}, []
    for name, value in settings.items():
        text = str(value)
        if mask_url(text) != text:
            left.append(name)
        else:
            kept[name] = text
    return kept, left


def crawl_argv(argv: list[str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """``(rule, -a arguments, -s settings)`` of a ``crawl RULE -a K=V -s K=V`` command line.

    >>> crawl_argv(["crawl", "r", "-a", "site=http://x", "-s", "RUN_ID=1"])
    ('r', {'site': 'http://x'}, {'RUN_ID': '1'})
    """
    if len(argv) < 2 or argv[0] != "crawl":
        raise ValueError(f"not a crawl command line: {argv[:2]}")
    args: dict[str, str] = {}
    settings: dict[str, str] = {}
    rest = iter(argv[2:])
    for option in rest:
        value = next(rest, "")
        name, _, text = value.partition("=")
        if option == "-a":
            args[name] = text
        elif option == "-s":
            settings[name] = text
        else:
            raise ValueError(f"option {option} cannot be passed to a node")
    return argv[1], args, settings


class Fleet:
    def __init__(
        self, settings: Any, *, rules_dir: Path | None = None, root: Path | None = None
    ) -> None:
        self.settings = settings
        self.project = settings.get("NODES_PROJECT")
        self.timeout = settings.getfloat("NODES_TIMEOUT")
        self.root = root or project_root
        self.rules_dir = rules_dir or Path(settings.get("RULES_DIR"))
        self._jobs: dict[str, tuple[float, dict[str, list[dict[str, Any]]] | None]] = {}
        self._lock = threading.Lock()
        self._redis: Any = None
        self._away: dict[str, float] = {}  # node name -> when it first did not answer (monotonic)

    # -- nodes ----------------------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        return load_nodes(self.settings)

    def configured(self) -> bool:
        try:
            return bool(self.nodes())
        except NodesError:
            return True  # configured, wrongly: said when used

    def node(self, name: str) -> Node:
        for node in self.nodes():
            if node.name == name:
                return node
        raise NodesError(f"no node {name!r} (scrapy nodes list shows them)")

    def client(self, node: Node) -> Scrapyd:
        return Scrapyd(node, self.timeout)

    def each(
        self, nodes: list[Node], call: Callable[[Node], Any]
    ) -> list[tuple[Node, Any, str | None]]:
        """``call`` on every node at once: ``(node, result, error line or None)``."""

        def one(node: Node) -> tuple[Node, Any, str | None]:
            try:
                return node, call(node), None
            except NodeError as exc:
                return node, None, str(exc)

        if not nodes:
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(nodes))) as pool:
            return list(pool.map(one, nodes))

    def status(self, with_workers: bool = True) -> list[dict[str, Any]]:
        def ask(node: Node) -> dict[str, Any]:
            client = self.client(node)
            answer = client.daemonstatus()
            return {**answer, "versions": client.versions(self.project)}

        beats = self.heartbeats() if with_workers else []
        rows = []
        for node, answer, error in self.each(self.nodes(), ask):
            versions = (answer or {}).get("versions") or []
            row: dict[str, Any] = {
                **node.public(),
                "status": "online"
                if error is None
                else ("unauthorized" if "HTTP 401" in error else "offline"),
                "error": error,
                "pending": (answer or {}).get("pending"),
                "running": (answer or {}).get("running"),
                "finished": (answer or {}).get("finished"),
                "version": versions[-1] if versions else None,
                "workers": [b for b in beats if b.get("node") == node.name],
            }
            rows.append(row)
        return rows

    def heartbeats(self) -> list[dict[str, Any]]:
        if not self.settings.get("REDIS_URL"):
            return []
        from crawler.core.redis import redis_from_settings
        from crawler.nodes.heartbeat import read_heartbeats

        try:
            if self._redis is None:
                self._redis = redis_from_settings(self.settings)
            return read_heartbeats(self._redis)
        except Exception as exc:  # Redis away: the nodes are still shown
            logger.warning("cannot read the crawls' heartbeats from Redis: %s", exc)
            return []

    # -- deploy ---------------------------------------------------------------------------------
    def build(self) -> Egg:
        return build_egg(self.root, self.rules_dir)

    def digest(self) -> str:
        """The content digest of the project as it is here (what a node must have deployed)."""
        return content_digest(bundle_files(self.root, self.rules_dir))

    def deploy(self, names: list[str] | None = None) -> tuple[Egg, list[dict[str, Any]]]:
        egg = self.build()
        nodes = [self.node(n) for n in names] if names else self.nodes()

        def put(node: Node) -> dict[str, Any]:
            client = self.client(node)
            have = [v for v in client.versions(self.project) if digest_of(v) == egg.digest]
            if have:
                return {"version": have[-1], "unchanged": True}
            answer = client.addversion(self.project, egg.version, egg.data)
            return {"version": egg.version, "unchanged": False, "spiders": answer.get("spiders")}

        results = []
        for node, answer, error in self.each(nodes, put):
            results.append(
                {"node": node.name, "ok": error is None, "error": error, **(answer or {})}
            )
            if error is None:
                logger.info(
                    "deployed %s to node %s%s",
                    answer["version"],
                    node.name,
                    " (already there)" if answer["unchanged"] else "",
                )
        return egg, results

    def deployed_version(self, node: Node, digest: str) -> str:
        versions = [v for v in self.client(node).versions(self.project) if digest_of(v) == digest]
        if not versions:
            raise NodeError(
                f"node {node.name}: the project as it is here is not deployed there: run `scrapy nodes deploy`"
            )
        return versions[-1]

    # -- jobs -----------------------------------------------------------------------------------
    def jobs(self, node: Node, max_age: float = 1.0) -> dict[str, list[dict[str, Any]]] | None:
        """The node's jobs by state (asked at most every ``max_age`` s); None: it does not answer."""
        with self._lock:
            cached = self._jobs.get(node.name)
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]
        try:
            jobs: dict[str, list[dict[str, Any]]] | None = self.client(node).jobs(self.project)
        except NodeError:
            jobs = None
        with self._lock:
            self._jobs[node.name] = (time.monotonic(), jobs)
            if jobs is None:
                self._away.setdefault(node.name, time.monotonic())
            else:
                self._away.pop(node.name, None)
        return jobs

    def away_for(self, node: Node) -> float:
        """Seconds the node has not answered (0 when it answers)."""
        with self._lock:
            since = self._away.get(node.name)
        return 0.0 if since is None else time.monotonic() - since

    def job_state(self, node: Node, job: str) -> str | None:
        """pending / running / finished / unknown (not listed), or None when the node is away."""
        jobs = self.jobs(node)
        if jobs is None:
            return None
        for state in JOB_STATES:
            if any(j.get("id") == job for j in jobs[state]):
                return state
        return "unknown"

    def least_loaded(self, nodes: list[Node] | None = None) -> list[Node]:
        """Online nodes, least loaded first (crawls running and pending per slot)."""

        def load(node: Node) -> float:
            answer = self.client(node).daemonstatus()
            busy = int(answer.get("running") or 0) + int(answer.get("pending") or 0)
            return busy / node.slots if node.slots else float(busy)

        ranked = [
            (answer, node.name, node)
            for node, answer, error in self.each(nodes or self.nodes(), load)
            if error is None
        ]
        if not ranked:
            raise NodeError("no node answers: scrapy nodes list shows why")
        return [node for _, _, node in sorted(ranked, key=lambda r: (r[0], r[1]))]

    def crawl_settings(self, extra: Mapping[str, Any]) -> dict[str, str]:
        """The settings a crawl on a node is given, first found first: ``extra`` (the run's),
        ``NODES_CRAWL_SETTINGS``, then this process's ``STORE_URI`` and ``REDIS_URL``; a value
        holding credentials is never given (the node's environment gives it: ``STORE_URI``,
        ``REDIS_URL``), the next source's value of that name is, when it holds none."""
        own = {n: self.settings.get(n) for n in ("STORE_URI", "REDIS_URL") if self.settings.get(n)}
        kept: dict[str, str] = {}
        left: set[str] = set()
        for source in (extra, self.settings.getdict("NODES_CRAWL_SETTINGS"), own):
            safe, secret = secret_free({n: v for n, v in source.items() if n not in kept})
            kept.update(safe)
            left.update(secret)
        left -= set(kept)
        if left:
            logger.warning(
                "not passed to the node, as they hold credentials (the node's environment "
                "gives them): %s",
                ", ".join(sorted(left)),
            )
        return kept

    def schedule(
        self,
        node: Node,
        rule: str,
        job: str,
        args: Mapping[str, str],
        settings: Mapping[str, Any],
        version: str,
    ) -> str:
        """Start ``job`` on ``node`` with the deployed ``version`` (:meth:`deployed_version`)."""
        own = self.crawl_settings({**settings, "NODE_NAME": node.name})
        return self.client(node).schedule(
            self.project, rule, job=job, version=version, settings=own, args=args
        )

    def start(
        self,
        rule: str,
        args: Mapping[str, str],
        *,
        node: str | None = None,
        run_id: str | None = None,
        settings: Mapping[str, Any] = {},
    ) -> tuple[Node, str]:
        """One crawl of ``rule`` on ``node`` (else the least loaded): ``(node, job id)``."""
        run_id = run_id or uuid.uuid4().hex
        target = self.node(node) if node else self.least_loaded()[0]
        digest = self.digest()
        settings = {"DISTRIBUTED": "0", "RUN_ID": run_id, **settings}
        version = self.deployed_version(target, digest)
        job = self.schedule(target, rule, run_id, args, settings, version)
        logger.info("started %s on node %s (job %s)", rule, target.name, job)
        return target, job

    def seed(self, rule: str, args: Mapping[str, str]) -> None:
        """Reset the rule's Redis crawl and push its start requests, here (``scrapy seed``)."""
        if not self.settings.get("REDIS_URL"):
            raise NodeError("a distributed run needs REDIS_URL (the shared queue of its workers)")
        argv = [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "seed",
            rule,
            "-s",
            f"RULES_DIR={self.rules_dir}",
        ]
        for name, value in args.items():
            argv += ["-a", f"{name}={value}"]
        env = {"PYTHONPATH": str(self.root), "REDIS_URL": self.settings.get("REDIS_URL")}
        done = subprocess.run(
            argv,
            cwd=self.root,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise NodeError(f"seeding {rule} failed: {last[0][:300]}")

    def cancel(self, node: Node, job: str) -> str | None:
        try:
            return self.client(node).cancel(self.project, job)
        except NodeError as exc:
            logger.warning("%s", exc)
            return None
