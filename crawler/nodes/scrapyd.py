"""A client of Scrapyd's HTTP API (https://scrapyd.readthedocs.io/en/latest/api.html).

Every call is bounded (``NODES_TIMEOUT`` seconds, answers of at most :data:`MAX_ANSWER` bytes)
and fails with :class:`NodeError`, one line naming the node and what went wrong (unreachable,
wrong credentials, Scrapyd's own error message): never a traceback, never the password.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from crawler.core.switches import describe

MAX_ANSWER = 8 * 1024 * 1024  # bytes of one JSON answer
MAX_LOG_CHUNK = 1024 * 1024  # bytes of a log read at once


class NodeError(RuntimeError):
    """A Scrapyd node did not do what was asked (the message is one line)."""


@dataclass(frozen=True)
class Node:
    name: str
    url: str  # http(s)://host:port, no credentials
    username: str = ""
    password: str = ""  # resolved from password_env / password_file / the nodes file
    slots: int = 0  # the node's process limit (max_proc) when known, 0 otherwise
    source: str = "settings"  # settings | file

    def public(self) -> dict[str, Any]:
        """What may be shown of the node: never its password."""
        return {
            "name": self.name,
            "url": self.url,
            "username": self.username,
            "auth": bool(self.username),
            "slots": self.slots,
            "source": self.source,
        }


class Scrapyd:
    """One node's API."""

    def __init__(self, node: Node, timeout: float = 10.0) -> None:
        self.node = node
        self.timeout = timeout

    def _request(
        self, path: str, data: bytes | None = None, headers: Mapping[str, str] = {}
    ) -> urllib.request.Request:
        request = urllib.request.Request(
            self.node.url.rstrip("/") + path, data=data, headers=dict(headers)
        )
        if self.node.username:
            token = base64.b64encode(f"{self.node.username}:{self.node.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return request

    def _open(self, request: urllib.request.Request, limit: int) -> tuple[bytes, Any]:
        where = f"node {self.node.name} ({self.node.url})"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the operator's node URL)
                return answer.read(limit + 1), answer.headers
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                raise NodeError(
                    f"{where}: wrong credentials (HTTP 401): check its username and password"
                ) from None
            raise NodeError(
                f"{where}: HTTP {exc.code} for {request.full_url.split('?')[0]}"
            ) from None
        except (OSError, ValueError) as exc:
            raise NodeError(f"{where} does not answer: {describe(exc)}") from None

    def call(
        self,
        endpoint: str,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        *,
        post: bool = False,
        files: Mapping[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """Scrapyd's ``<endpoint>.json``: the decoded answer, whose ``status`` is ``ok``."""
        pairs = list(params.items() if isinstance(params, Mapping) else params or [])
        if files:
            data, content_type = multipart(pairs, files)
            request = self._request(f"/{endpoint}.json", data, {"Content-Type": content_type})
        elif post:
            request = self._request(
                f"/{endpoint}.json",
                urlencode(pairs).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            query = f"?{urlencode(pairs)}" if pairs else ""
            request = self._request(f"/{endpoint}.json{query}")
        body, _ = self._open(request, MAX_ANSWER)
        if len(body) > MAX_ANSWER:
            raise NodeError(
                f"node {self.node.name}: the answer to {endpoint} is larger than {MAX_ANSWER} bytes"
            )
        try:
            answer = json.loads(body)
        except ValueError:
            raise NodeError(
                f"node {self.node.name} ({self.node.url}) answered {endpoint} with something that is not Scrapyd's JSON"
            ) from None
        if not isinstance(answer, dict) or answer.get("status") != "ok":
            message = answer.get("message") if isinstance(answer, dict) else answer
            first = str(message).strip().splitlines()[-1:] or ["no message"]
            raise NodeError(f"node {self.node.name}: {endpoint} failed: {first[0][:300]}")
        return answer

    # -- the endpoints --------------------------------------------------------------------------
    def daemonstatus(self) -> dict[str, Any]:
        return self.call("daemonstatus")

    def versions(self, project: str) -> list[str]:
        try:
            return list(self.call("listversions", {"project": project}).get("versions") or [])
        except NodeError:
            return []

    def addversion(self, project: str, version: str, egg: bytes) -> dict[str, Any]:
        return self.call(
            "addversion", [("project", project), ("version", version)], files={"egg": egg}
        )

    def schedule(
        self,
        project: str,
        spider: str,
        *,
        job: str,
        version: str | None = None,
        settings: Mapping[str, Any] = {},
        args: Mapping[str, Any] = {},
    ) -> str:
        params: list[tuple[str, Any]] = [("project", project), ("spider", spider), ("jobid", job)]
        if version:
            params.append(("_version", version))
        params += [("setting", f"{name}={value}") for name, value in settings.items()]
        params += [(name, value) for name, value in args.items()]
        return str(self.call("schedule", params, post=True).get("jobid") or job)

    def cancel(self, project: str, job: str) -> str | None:
        """The job's state before (pending, running), None when it had ended already."""
        state = self.call("cancel", {"project": project, "job": job}, post=True).get("prevstate")
        return str(state) if state else None

    def jobs(self, project: str) -> dict[str, list[dict[str, Any]]]:
        answer = self.call("listjobs", {"project": project})
        return {
            state: list(answer.get(state) or []) for state in ("pending", "running", "finished")
        }

    def log(
        self, project: str, spider: str, job: str, offset: int = 0, size: int = MAX_LOG_CHUNK
    ) -> tuple[bytes, int]:
        """Bytes of a job's log from ``offset`` (at most ``size``) and the log's total size."""
        size = max(1, min(size, MAX_LOG_CHUNK))
        request = self._request(
            f"/logs/{project}/{spider}/{job}.log",
            headers={"Range": f"bytes={offset}-{offset + size - 1}"},
        )
        try:
            body, headers = self._open(request, size)
        except NodeError as exc:
            if "HTTP 416" in str(exc):
                return b"", offset
            raise
        total = headers.get("Content-Range", "").rpartition("/")[2]
        body = body[:size]
        return body, int(total) if total.isdigit() else offset + len(body)


def multipart(fields: list[tuple[str, Any]], files: Mapping[str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body (what Scrapyd's addversion reads)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, data in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.egg"\r\nContent-Type: application/octet-stream\r\n\r\n'
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
