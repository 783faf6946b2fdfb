"""Signals the rule spider sends (connect with ``crawler.signals.connect``).

``request_failed(request, failure)`` is sent for every request of the rule that failed for good
and reached the spider's errback: a download error after the retries, an HTTP error status, or
a request a middleware gave up on (a ban out of retries, a token refused after renewal, a
refused URL). Scrapy hands such a failure to the errback alone (no middleware sees an exception
raised in another one's ``process_response``), so this is where the rest of the crawl learns
that the request is over: a distributed crawl ends its lease here.
"""

request_failed = object()
