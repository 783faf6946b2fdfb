"""``serve`` (the HTTP API with scheduled fetches and re-checks) and ``judge``."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from proxies.api_token import is_loopback, service_token
from proxies.cli.checking import open_pool
from proxies.cli.errors import CliError
from proxies.settings import PoolSettings


def serve(
    settings: PoolSettings,
    args: list[str],
    out: TextIO,
    rule_runner: Any = None,
    host: str | None = None,
    port: int | None = None,
    no_check: bool = False,
    no_fetch: bool = False,
    **_: Any,
) -> int:
    """The HTTP API plus scheduled source fetches and re-checks, until interrupted. A
    non-loopback address without a configured token is refused."""
    from proxies.service import run_service
    from proxies.sources import sources_from_settings
    from proxies.validator import Validator

    host = host or settings.get("PROXY_POOL_API_HOST")
    port = int(port if port is not None else settings.getint("PROXY_POOL_API_PORT"))
    token = service_token(settings, host)  # TokenError (a CliError upstream) on a public bind
    fetching = settings.getbool("PROXY_POOL_SERVE_FETCH") and not no_fetch
    sources = sources_from_settings(settings) if fetching else []
    validator = None
    if settings.getbool("PROXY_POOL_SERVE_CHECK") and not no_check:
        if settings.getoptional("PROXY_POOL_JUDGE_URL"):
            validator = Validator.from_settings(settings)
        else:
            print("no PROXY_POOL_JUDGE_URL: serving without checks", file=sys.stderr)
    pool = open_pool(settings)

    def ready(actual: int) -> None:
        print(f"proxy pool API on http://{host}:{actual}/ (Ctrl-C stops)", file=out, flush=True)

    try:
        asyncio.run(
            run_service(
                pool,
                validator,
                sources,
                host,
                port,
                on_ready=ready,
                token=token,
                rule_runner=rule_runner,
                settings=settings,
            )
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    finally:
        pool.close()
    return 0


def judge(
    settings: PoolSettings,
    args: list[str],
    out: TextIO,
    host: str | None = None,
    port: int | None = None,
    tls_port: int | None = None,
    cert: str | None = None,
    key: str | None = None,
    **_: Any,
) -> int:
    """Run the judge the validator checks proxies against. It changes no state, so it needs no
    token; a public address is allowed (proxies elsewhere must reach it) and warned about."""
    from proxies.judge import serve_judge

    host = host or settings.get("PROXY_POOL_JUDGE_HOST")
    port = int(port if port is not None else settings.getint("PROXY_POOL_JUDGE_PORT"))
    tls_port = (
        tls_port if tls_port is not None else settings.getoptional("PROXY_POOL_JUDGE_TLS_PORT")
    )
    cert = cert or settings.getoptional("PROXY_POOL_JUDGE_CERT")
    key = key or settings.getoptional("PROXY_POOL_JUDGE_KEY")
    if not is_loopback(host):
        print(
            f"warning: the judge listens on {host}, not loopback: anyone who reaches it sees "
            "their own request echoed (it changes no state)",
            file=sys.stderr,
        )
    try:
        serve_judge(host, port, None if tls_port is None else int(tls_port), cert, key)
    except OSError as exc:
        raise CliError(f"cannot start the judge on {host}:{port}: {exc.strerror or exc}") from None
    return 0
