"""The fleet: Scrapyd nodes (registry, health, heartbeats), deploying the project to them as an
egg, and dispatching crawls, one node's or a distributed run's workers (docs/nodes.md)."""

from crawler.nodes.fleet import Fleet
from crawler.nodes.fleet_runs import settle, start_distributed, stop_run
from crawler.nodes.jobs import NodeJob, log_source, node_launcher
from crawler.nodes.registry import NodesError, add_node, load_nodes, remove_node
from crawler.nodes.scrapyd import Node, NodeError
from crawler.nodes.watch import NodeWatch

__all__ = [
    "Fleet",
    "Node",
    "NodeError",
    "NodeJob",
    "NodeWatch",
    "NodesError",
    "add_node",
    "load_nodes",
    "log_source",
    "node_launcher",
    "remove_node",
    "settle",
    "start_distributed",
    "stop_run",
]
