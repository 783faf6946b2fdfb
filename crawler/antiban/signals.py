"""Signals between the anti-ban middlewares (sent with ``crawler.signals.send_catch_log``).

``request_banned(request, reason, outcome, response, retry_after)`` is sent by the ban
middleware for every response or exception its policy judges to be a ban (outcome BAN) or a
proxy/network failure (outcome FAILURE). The proxy middleware reports it to the pool, the
session middleware retires sessions, the user-agent middleware retires the profile.
"""

request_banned = object()
