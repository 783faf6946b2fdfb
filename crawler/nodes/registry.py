"""Which Scrapyd nodes there are: the ``NODES`` setting and the nodes file (``NODES_FILE``).

``NODES`` (the project's settings or the deployment's) maps a name to ``{url, username,
password_env | password_file, slots}``; the password is read from that environment variable or
file, never written in a setting. The nodes file (YAML, outside the repository, written with
mode 0600) holds the nodes an admin added from the dashboard or with ``scrapy nodes add``, in
the same shape, where ``password`` may be written as it is (the file is the secret's home). A
node named in both is the setting's. A node whose entry is wrong (no URL, not http(s), a
password variable that is not set) is refused with one line naming it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from crawler.nodes.scrapyd import Node

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 1000


class NodesError(ValueError):
    """A node's entry is not one (the message is one line naming it)."""


def node_from(name: str, entry: Any, source: str) -> Node:
    where = f"node {name!r} ({source})"
    if not NAME.fullmatch(str(name)):
        raise NodesError(f"{where}: a name is 1 to 63 letters, digits, '_', '.' or '-'")
    if not isinstance(entry, Mapping):
        raise NodesError(f"{where}: expected a mapping with url (and username, password_env)")
    url = str(entry.get("url") or "").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodesError(f"{where}: url {url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise NodesError(f"{where}: put the credentials in username and password_env, not the URL")
    password = ""
    if entry.get("password_env"):
        variable = str(entry["password_env"])
        if variable not in os.environ:
            raise NodesError(
                f"{where}: the environment variable {variable} (password_env) is not set"
            )
        password = os.environ[variable]
    elif entry.get("password_file"):
        try:
            password = Path(str(entry["password_file"])).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise NodesError(f"{where}: cannot read password_file: {exc.strerror}") from None
    elif entry.get("password") is not None:
        if source != "file":
            raise NodesError(f"{where}: a password is never a setting's value: use password_env")
        password = str(entry["password"])
    try:
        slots = int(entry.get("slots") or 0)
    except (TypeError, ValueError):
        raise NodesError(f"{where}: slots must be a whole number") from None
    return Node(str(name), url, str(entry.get("username") or ""), password, slots, source)


def read_file(path: Path) -> dict[str, Any]:
    """The nodes file's entries (empty when there is no file)."""
    try:
        with path.open("rb") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise NodesError(f"{path}: cannot read the nodes file: {exc.strerror}") from None
    if len(text) > MAX_FILE_BYTES:
        raise NodesError(f"{path}: the nodes file is larger than {MAX_FILE_BYTES} bytes")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise NodesError(f"{where}: not YAML: {getattr(exc, 'problem', exc)}") from None
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        raise NodesError(f"{path}: expected 'nodes:' mapping names to entries")
    return nodes


def load_nodes(settings: Any) -> list[Node]:
    """Every configured node, the settings' first, then the file's, by name."""
    entries: dict[str, tuple[Any, str]] = {}
    for name, entry in read_file(Path(settings.get("NODES_FILE"))).items():
        entries[str(name)] = (entry, "file")
    for name, entry in (settings.getdict("NODES") or {}).items():
        entries[str(name)] = (entry, "settings")
    if len(entries) > MAX_NODES:
        raise NodesError(f"{len(entries)} nodes: at most {MAX_NODES}")
    return [node_from(name, entry, source) for name, (entry, source) in sorted(entries.items())]


def write_file(path: Path, nodes: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump({"nodes": dict(nodes)}, out, allow_unicode=True, sort_keys=True)
    os.replace(scratch, path)


def add_node(
    settings: Any, name: str, url: str, username: str = "", password: str = "", slots: int = 0
) -> Node:
    """Register a node in the nodes file (replacing one of that name); checked first."""
    entry: dict[str, Any] = {"url": url}
    if username:
        entry.update(username=username, password=password)
    if slots:
        entry["slots"] = slots
    node = node_from(name, entry, "file")
    if name in (settings.getdict("NODES") or {}):
        raise NodesError(f"node {name!r} is configured in the settings: change it there")
    path = Path(settings.get("NODES_FILE"))
    nodes = read_file(path)
    nodes[name] = entry
    write_file(path, nodes)
    return node


def remove_node(settings: Any, name: str) -> bool:
    """Remove a node from the nodes file; False when it is not there."""
    if name in (settings.getdict("NODES") or {}):
        raise NodesError(f"node {name!r} is configured in the settings: remove it there")
    path = Path(settings.get("NODES_FILE"))
    nodes = read_file(path)
    if nodes.pop(name, None) is None:
        return False
    write_file(path, nodes)
    return True
