"""The API token: what every state change on the pool's HTTP API must present, and the
back-off of clients that present wrong ones.

The token comes from the environment variable named by ``PROXY_POOL_API_TOKEN_ENV`` (default
``PROXY_POOL_API_TOKEN``) or from the file ``PROXY_POOL_API_TOKEN_FILE`` (outside the
repository). With neither, ``serve`` on a loopback address generates one into
``PROXY_POOL_DATA_DIR/api-token`` (mode 0600), which clients on the same machine read; a
non-loopback address without a configured token is refused. Tokens are compared in constant
time and never logged.

:class:`TokenBackoff` counts wrong tokens per client address (an IPv6 client by its /64): after
``PROXY_POOL_API_BACKOFF_AFTER`` of them a client must wait ``PROXY_POOL_API_BACKOFF_BASE``
seconds, doubled with each further wrong token up to ``PROXY_POOL_API_BACKOFF_MAX``; it
remembers at most ``PROXY_POOL_API_BACKOFF_CLIENTS`` clients (the least recent forgotten first)
and forgets a client quiet for the longest wait after its own wait ended.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from proxies.proxy_keys import MIN_SECRET, SecretError, generated_secret, read_secret_file
from proxies.settings import PoolSettings
from vocab.datadir import project_root


class TokenError(SecretError):
    """No usable token where one is required; the message says what to do."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def configured_token(settings: Any) -> str | None:
    """The token from the environment or the token file; None if neither is set."""
    s = PoolSettings.wrap(settings)
    var = s.get("PROXY_POOL_API_TOKEN_ENV") or "PROXY_POOL_API_TOKEN"
    value = os.environ.get(var, "").strip()
    if value:
        if len(value) < MIN_SECRET:
            raise TokenError(f"the API token in ${var} needs at least {MIN_SECRET} characters")
        return value
    path = s.getoptional("PROXY_POOL_API_TOKEN_FILE")
    if not path:
        return None
    resolved = Path(path).expanduser().resolve()
    if resolved.is_relative_to(project_root) and not resolved.is_relative_to(project_root / "data"):
        raise TokenError(
            f"PROXY_POOL_API_TOKEN_FILE {path} is inside the repository: keep it outside"
        )
    return read_secret_file(resolved, "PROXY_POOL_API_TOKEN_FILE")


def generated_token_path(settings: Any) -> Path:
    return Path(PoolSettings.wrap(settings).get("PROXY_POOL_DATA_DIR")) / "api-token"


def service_token(settings: Any, host: str) -> str:
    """The token ``serve`` enforces: configured, or generated when bound to loopback."""
    token = configured_token(settings)
    if token:
        return token
    if not is_loopback(host):
        raise TokenError(
            f"refusing to listen on {host} (not loopback) without an API token: set "
            "PROXY_POOL_API_TOKEN in the environment or PROXY_POOL_API_TOKEN_FILE"
        )
    return generated_secret(generated_token_path(settings))


def client_token(settings: Any) -> str | None:
    """The token a client sends: configured, or the one ``serve`` generated on this machine."""
    token = configured_token(settings)
    if token:
        return token
    path = generated_token_path(settings)
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison (the time taken does not tell how much of a guess was right)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def client_key(remote: str | None) -> str:
    """Who a request comes from, for the back-off: its IP address; an IPv6 client by its /64
    (one host usually holds a whole /64), an IPv4-mapped one as IPv4."""
    text = (remote or "").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64] or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class TokenBackoff:
    """Wrong tokens per client, and how long each client must wait before its next try.

    A client's first ``free`` wrong tokens cost nothing; the next one makes it wait ``base``
    seconds, each further one twice as long, up to ``ceiling``. While it waits its tries are
    refused unchecked (:meth:`wait`), so it learns nothing about tokens, right or wrong. At most
    ``clients`` clients are remembered, the least recently wrong forgotten first; a client with
    no wrong token for ``ceiling`` seconds after its wait ended starts afresh (waiting out each
    wait does not). Not thread-safe: one event loop."""

    def __init__(
        self,
        free: int,
        base: float,
        ceiling: float,
        clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if free < 0 or base <= 0 or ceiling < base or clients < 1:
            raise ValueError(
                "the API back-off needs PROXY_POOL_API_BACKOFF_AFTER >= 0, "
                "0 < PROXY_POOL_API_BACKOFF_BASE <= PROXY_POOL_API_BACKOFF_MAX and "
                "PROXY_POOL_API_BACKOFF_CLIENTS >= 1"
            )
        self.free, self.base, self.ceiling, self.clients = free, base, ceiling, clients
        self._clock = clock
        # client -> [wrong tokens, may try again at]; the least recently wrong first
        self._strikes: OrderedDict[str, list[float]] = OrderedDict()
        self.wrong = 0  # wrong tokens counted
        self.refused = 0  # tries refused while their client had to wait
        self.forgotten = 0  # clients dropped to keep the table within ``clients``

    @classmethod
    def from_settings(cls, settings: Any) -> TokenBackoff:
        s = PoolSettings.wrap(settings)
        return cls(
            s.getint("PROXY_POOL_API_BACKOFF_AFTER"),
            s.getfloat("PROXY_POOL_API_BACKOFF_BASE"),
            s.getfloat("PROXY_POOL_API_BACKOFF_MAX"),
            s.getint("PROXY_POOL_API_BACKOFF_CLIENTS"),
        )

    def __len__(self) -> int:
        return len(self._strikes)

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before a token of its is checked (0: now)."""
        entry = self._strikes.get(client)
        if entry is None:
            return 0.0
        now = self._clock()
        left = entry[1] - now
        if left > 0:
            self.refused += 1
            return left
        if now - entry[1] > self.ceiling:  # quiet for the longest wait once its wait ended
            del self._strikes[client]
        return 0.0

    def failed(self, client: str) -> float:
        """Count a wrong token of ``client``; the seconds it must now wait (0 while free)."""
        now = self._clock()
        self.wrong += 1
        entry = self._strikes.pop(client, None) or [0, now]
        entry[0] += 1
        over = int(entry[0]) - self.free
        wait = min(self.ceiling, self.base * 2 ** min(over - 1, 64)) if over > 0 else 0.0
        entry[1] = now + wait
        self._strikes[client] = entry
        while self._strikes:  # the least recent past the bound, and the quiet
            oldest = next(iter(self._strikes.values()))
            if len(self._strikes) > self.clients:
                self.forgotten += 1
            elif now - oldest[1] <= self.ceiling:
                break
            self._strikes.popitem(last=False)
        return wait
