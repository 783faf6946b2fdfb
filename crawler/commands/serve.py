"""``scrapy serve [--host 127.0.0.1] [--port 6800]``: the data service (crawler/service) on
uvicorn. A non-loopback address is refused unless API tokens (``scrapy auth tokens create``, or
``SERVICE_TOKENS_ENV``) or sign-in (``SIGNIN_PROVIDERS``) are configured. A sign-in provider
whose secret is not in the environment, a broken sign-in setting, or an address that cannot be
listened on (a port in use) is one line, exit 2."""

from __future__ import annotations

import argparse
import errno
import logging
import socket

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.crawl import check_command_line_settings
from crawler.core.exitcodes import EXIT_CODES
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


def listening_socket(host: str, port: int) -> socket.socket:
    """The service's socket, bound before the server starts (uvicorn listens on it): a port in
    use or an address that is not this machine's is a UsageError saying what to do."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}", print_help=False) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"port {port} on {host} is in use (another `scrapy serve`?): stop what listens "
                "there, or pick another port with --port N (or -s SERVICE_PORT=N)"
            )
        else:
            message = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise UsageError(message, print_help=False) from None
    return sock


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

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        check_command_line_settings(self.settings)

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
        sock = listening_socket(host, port)
        level = str(self.settings.get("LOG_LEVEL")).lower()
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=level,
            access_log=level == "debug",
            proxy_headers=True,
            forwarded_allow_ips=self.settings.get("SERVICE_FORWARDED_ALLOW_IPS"),
        )
        address = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/"

        class Server(uvicorn.Server):  # uvicorn says where it listens only on sockets it binds
            async def startup(self, sockets: list | None = None) -> None:
                await super().startup(sockets)
                if self.started:
                    logger.info("The data service listens on %s (Ctrl-C stops it)", address)

        server = Server(config)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()
        if not server.started:  # the application did not start (uvicorn logged why)
            self.exitcode = EXIT_CODES["failed"]
