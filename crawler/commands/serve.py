"""``scrapy serve [--host 127.0.0.1] [--port 6800]``: the data service (crawler/service) on
uvicorn. A non-loopback address is refused unless API tokens (``scrapy auth tokens create``, or
``SERVICE_TOKENS_ENV``) or sign-in (``SIGNIN_PROVIDERS``) are configured. A sign-in provider
whose secret is not in the environment, or a broken sign-in setting, is one line, exit 2."""

from __future__ import annotations

import argparse
import logging

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.oauth.errors import ProviderError
from crawler.service.api_tokens import TokenCheck, TokenError
from proxies.api_token import is_loopback

logger = logging.getLogger(__name__)


def check_bind(host: str, tokens: TokenCheck, signin: bool = False) -> None:
    """Refuse a public address without tokens or sign-in (a UsageError, one line)."""
    if is_loopback(host) or signin:
        return
    try:
        configured = tokens.configured()
    except TokenError as exc:
        raise UsageError(str(exc), print_help=False) from None
    if not configured:
        raise UsageError(
            f"refusing to listen on {host} (not loopback) without API tokens or sign-in: create "
            f"a token with `scrapy auth tokens create NAME`, set ${tokens.env_variable}, or "
            "configure SIGNIN_PROVIDERS (docs/auth.md)",
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
        from scrapy.utils.log import configure_logging

        from crawler.service.app import create_app
        from crawler.service.signin.roles import RolesError

        # the service's own lines (sign-in, background tasks) at LOG_LEVEL, as a crawl's are;
        # uvicorn's loggers keep their own handlers
        configure_logging(self.settings)
        host = opts.host or self.settings.get("SERVICE_HOST")
        port = opts.port if opts.port is not None else self.settings.getint("SERVICE_PORT")
        tokens = TokenCheck(
            self.settings.get("SERVICE_TOKENS_FILE"), self.settings.get("SERVICE_TOKENS_ENV")
        )
        try:
            app = create_app(self.settings, host=host)
            signin = app.state.signin
            admins = signin.roles.check().admins() if signin is not None else 1
        except (ProviderError, RolesError, ValueError) as exc:
            raise UsageError(str(exc), print_help=False) from None
        check_bind(host, tokens, signin=signin is not None)
        if not admins:
            logger.warning(
                "nobody has the admin role in %s: add the first admin with "
                "`scrapy auth people add ID --role admin` (docs/auth.md)",
                signin.roles.path,
            )
        level = str(self.settings.get("LOG_LEVEL")).lower()
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=level,
            access_log=level == "debug",
            proxy_headers=True,
            forwarded_allow_ips=self.settings.get("SERVICE_FORWARDED_ALLOW_IPS"),
        )
