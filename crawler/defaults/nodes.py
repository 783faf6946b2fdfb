"""The fleet: Scrapyd nodes, deployment, dispatch and health (crawler/nodes; docs/nodes.md).

A node's password never is a setting's value: ``password_env`` names the environment variable
holding it (or ``password_file`` a file outside the repository); nodes added from the dashboard
or ``scrapy nodes add`` are kept in ``NODES_FILE`` (mode 0600, outside the repository).
"""

from vocab.datadir import data_dir

# name -> {"url": "http://10.0.0.7:6800", "username": "...", "password_env": "NODE_A_PASSWORD"}
# (or "password_file": "/etc/crawler/node-a.password"); also "slots": the node's max_proc.
NODES: dict = {}
# Nodes registered by an admin (dashboard, `scrapy nodes add`): YAML, outside the repository.
NODES_FILE = str(data_dir / "nodes.yaml")
NODES_PROJECT = "crawler"  # the Scrapyd project the platform deploys and runs
NODES_TIMEOUT = 10.0  # seconds one Scrapyd call may take
NODES_CHECK_INTERVAL = 5.0  # seconds between health checks by the data service
NODES_OFFLINE_AFTER = 15.0  # a node unanswered this long is offline: an alert is sent
# Where run-now and the scheduler start crawls when nodes are configured: "least" (the least
# loaded node) or "local" (this machine, as without nodes).
NODES_DISPATCH = "least"
# Settings passed to every crawl started on a node (plain values: Scrapyd shows them in its API,
# so never a secret; a node's secrets come from its own environment).
NODES_CRAWL_SETTINGS: dict = {}
# Every crawl with REDIS_URL set writes a heartbeat (host, node, rule, pages, items, rate,
# memory) to Redis this often (s); 0: none.
FLEET_HEARTBEAT_INTERVAL = 2.0
FLEET_RUN_ID = ""  # set by the dispatcher: the distributed run this worker is part of
NODE_NAME = ""  # set by the dispatcher: the node this crawl runs on

kinds: dict = {}
choices = {"NODES_DISPATCH": ("least", "local")}
minimums = {
    "NODES_TIMEOUT": 0.1,
    "NODES_CHECK_INTERVAL": 0.1,
    "NODES_OFFLINE_AFTER": 0.1,
    "FLEET_HEARTBEAT_INTERVAL": 0,
}
