"""Data push: new and changed items delivered to business systems while the crawl stores them
(sinks: an HMAC-signed HTTP webhook, Redis Streams, MySQL/MariaDB tables), read from the
store's change feed by a thread of their own, so a sink that is down never stalls the crawl and
never loses an item. See docs/service.md.
"""
