"""``scrapy serve [--host 127.0.0.1] [--port 6800]``: the data service (crawler/service) on
uvicorn. A non-loopback address is refused unless API tokens are configured
(``scrapy tokens create``, or ``SERVICE_TOKENS_ENV``)."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.service.tokens import TokenCheck, TokenError
from proxies.tokens import is_loopback


def check_bind(host: str, tokens: TokenCheck) -> None:
    """Refuse a public address without tokens (a UsageError, one line)."""
    if is_loopback(host):
        return
    try:
        configured = tokens.configured()
    except TokenError as exc:
        raise UsageError(str(exc), print_help=False) from None
    if not configured:
        raise UsageError(
            f"refusing to listen on {host} (not loopback) without API tokens: create one with "
            f"`scrapy tokens create NAME` or set ${tokens.env_variable}",
            print_help=False,
        )


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[--host HOST] [--port PORT]"

    def short_desc(self) -> str:
        return "Run the data service: the API and the dashboard (FastAPI on uvicorn)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--host", help="address to listen on (default SERVICE_HOST)")
        parser.add_argument("--port", type=int, help="port to listen on (default SERVICE_PORT)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy serve takes no positional arguments", print_help=True)
        import uvicorn

        from crawler.service.app import create_app

        host = opts.host or self.settings.get("SERVICE_HOST")
        port = opts.port if opts.port is not None else self.settings.getint("SERVICE_PORT")
        tokens = TokenCheck(
            self.settings.get("SERVICE_TOKENS_FILE"), self.settings.get("SERVICE_TOKENS_ENV")
        )
        check_bind(host, tokens)
        app = create_app(self.settings, host=host)
        level = str(self.settings.get("LOG_LEVEL")).lower()
        uvicorn.run(app, host=host, port=port, log_level=level, access_log=level == "debug")
