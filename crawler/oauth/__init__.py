"""Crawls of sources behind OAuth 2.0 tokens (docs/auth.md).

A rule's ``auth:`` section names a provider (configured in ``OAUTH_PROVIDERS``) and a stored
credential. This package obtains, keeps and refreshes the tokens. Only :mod:`~crawler.oauth.configured` (built
from Scrapy settings) imports Scrapy; the ``scrapy auth`` command and the downloader middleware
(``crawler.middlewares.oauth``, which also redacts the tokens from the log) share it all:

- :mod:`~crawler.oauth.providers`: a provider's configuration, checked;
- :mod:`~crawler.oauth.tokens`: a token as stored, without its secrets in any ``repr``;
- :mod:`~crawler.oauth.errors`: why a token could not be had, with what a person should do;
- :mod:`~crawler.oauth.standard` (RFC 6749, through Authlib's client) and
  :mod:`~crawler.oauth.wechat` (WeChat's web authorization): the token clients;
- :mod:`~crawler.oauth.stores`, :mod:`~crawler.oauth.redis_store`: tokens shared by every crawl
  process (SQLite on one machine, Redis when distributed), one refresh at a time;
- :mod:`~crawler.oauth.keeper`: a valid token for a credential, refreshed before it expires;
- :mod:`~crawler.oauth.placement`: the token on a request, off it again, expired answers;
- :mod:`~crawler.oauth.authorize`: the one-time authorization through a loopback redirect;
- :mod:`~crawler.oauth.configured`: a provider, the store and a keeper from Scrapy settings.
"""
