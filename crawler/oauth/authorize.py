"""The one-time authorization of a credential (``scrapy auth authorize PROVIDER``): the
authorization-code flow through a redirect listener on 127.0.0.1. A person opens the printed URL,
signs in at the provider and approves; the provider sends the browser back to the listener
with ``code`` and ``state``. The ``state`` must be the one sent (else the answer is refused:
CSRF); the standard dialect adds PKCE (S256) and, for ``openid`` scopes, a ``nonce``. The code is
exchanged at once and the token (with its refresh token) stored for the crawls.
"""

from __future__ import annotations

import html
import queue
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from crawler.oauth.errors import OAuthFailure
from crawler.oauth.source_tokens import Token
from crawler.oauth.token_stores import TokenStore, token_key

CALLBACK_PATH = "/callback"


class AuthorizeError(OAuthFailure):
    """The authorization did not complete: refused, a wrong state, no answer in time."""

    reason = "authorize_failed"

    def message(self) -> str:
        return f"provider {self.provider!r}: authorization failed: {self.detail}"


def _listener(host: str, port: int, answers: queue.Queue) -> ThreadingHTTPServer:
    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self.send_error(404)
                return
            answers.put({k: v[0] for k, v in parse_qs(parts.query).items()})
            body = "<!doctype html><title>Done</title><p>Authorization received: you may close this page.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            return None  # the query holds the code: never logged

    return ThreadingHTTPServer((host, port), Callback)


def authorize(
    client: object,
    store: TokenStore,
    *,
    credential: str,
    port: int = 0,
    redirect_uri: str | None = None,
    timeout: float = 300.0,
    show: Callable[[str], None] = print,
) -> Token:
    """Run the flow; store and return the token. ``redirect_uri`` replaces the listener's own
    address in what the provider is told (a callback domain forwarding to it)."""
    provider = client.provider  # type: ignore[attr-defined]
    answers: queue.Queue = queue.Queue()
    server = _listener("127.0.0.1", port, answers)
    thread = threading.Thread(target=server.serve_forever, name="oauth-callback", daemon=True)
    thread.start()
    try:
        callback = redirect_uri or f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
        state = secrets.token_hex(16)  # letters and digits: WeChat allows nothing else
        verifier = secrets.token_urlsafe(64)
        nonce = secrets.token_urlsafe(16) if "openid" in provider.scope.split() else None
        url = client.authorization_url(  # type: ignore[attr-defined]
            callback, state=state, code_verifier=verifier, nonce=nonce
        )
        show(url)
        try:
            answer = answers.get(timeout=timeout)
        except queue.Empty:
            raise AuthorizeError(
                provider.name, credential, f"no answer within {timeout:g}s; run it again"
            ) from None
    finally:
        server.shutdown()
        server.server_close()
    if not secrets.compare_digest(answer.get("state", ""), state):
        raise AuthorizeError(provider.name, credential, "the answer's state is not ours (refused)")
    if "error" in answer or not answer.get("code"):
        why = html.escape(answer.get("error", "no code"))[:100]
        raise AuthorizeError(provider.name, credential, f"the provider answered {why}")
    token = client.exchange_code(  # type: ignore[attr-defined]
        answer["code"], redirect_uri=callback, code_verifier=verifier
    )
    with store.exclusive(token_key(provider.name, credential)) as tx:
        tx.put(token)
    return token
