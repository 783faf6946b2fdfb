"""Crawls of sources behind OAuth 2.0 tokens (docs/auth.md).

A rule's ``auth:`` section names a provider (configured in ``OAUTH_PROVIDERS``) and a stored
credential. This package obtains, keeps and refreshes the tokens. Only
:mod:`~crawler.oauth.configured` (built from Scrapy settings) and the downloader middlewares
(:mod:`~crawler.oauth.middleware`: the token on at download time and off again, only for the
provider's hosts, and the tokens redacted from the log; :mod:`~crawler.oauth.answers`: the
provider's answers, expired tokens renewed and retried) import Scrapy; the middlewares and the
``scrapy auth`` command share the rest:

- :mod:`~crawler.oauth.source_providers`: a provider's configuration, checked;
- :mod:`~crawler.oauth.source_tokens`: a token as stored, without its secrets in any ``repr``;
- :mod:`~crawler.oauth.errors`: why a token could not be had, with what a person should do;
- :mod:`~crawler.oauth.standard` (RFC 6749, through Authlib's client) and
  :mod:`~crawler.oauth.wechat_client` (WeChat's web authorization): the token clients;
- :mod:`~crawler.oauth.token_stores`, :mod:`~crawler.oauth.redis_token_store`: tokens shared by
  every crawl process (SQLite on one machine, Redis when distributed), one refresh at a time;
- :mod:`~crawler.oauth.keeper`: a valid token for a credential, refreshed before it expires;
- :mod:`~crawler.oauth.placement`: the token on a URL, out of any other URL, expired answers;
- :mod:`~crawler.oauth.authorize`: the one-time authorization through a loopback redirect;
- :mod:`~crawler.oauth.configured`: a provider, the store and a keeper from Scrapy settings.

The data service's sign-in (:mod:`crawler.service.signin`) uses the WeChat client and the
provider checks through what this module exports.
"""

from crawler.oauth.errors import InvalidGrant, OAuthFailure, ProviderError
from crawler.oauth.source_providers import WECHAT_API, WECHAT_OPEN, Provider, secret_from_env
from crawler.oauth.source_tokens import Token
from crawler.oauth.wechat_client import WeChatClient

__all__ = [
    "WECHAT_API",
    "WECHAT_OPEN",
    "InvalidGrant",
    "OAuthFailure",
    "Provider",
    "ProviderError",
    "Token",
    "WeChatClient",
    "secret_from_env",
]
