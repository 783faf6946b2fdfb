"""Anti-ban: user agents, proxies, cookie sessions, bans and impersonation, each policy beside
the downloader middleware that applies it (docs/antiban.md; settings in
crawler/defaults/antiban.py; a rule's ``antiban:`` section maps onto them).

- user agents: :mod:`.useragents` (the catalog from fake-useragent's data, coherent header
  profiles) and :mod:`.useragent_middleware`;
- proxies: :mod:`.proxy_rotation` (``PROXY_POLICY``) and :mod:`.proxy_middleware`; the proxy pool
  itself is the ``proxies`` package, whose rule sources :mod:`.proxy_sources` crawls;
- cookie sessions: :mod:`.cookie_sessions` (files or a login step) and
  :mod:`.cookie_session_middleware`;
- bans: :mod:`.ban_policy` (``BAN_POLICY_CLASS``), which reads pages with :mod:`.block_pages`
  (suspects, block shapes, evidence), :mod:`.retry_after` and :mod:`.ban_middleware` (retries
  elsewhere, captchas to :mod:`crawler.captcha`), which first asks the spider what it expects of
  a doubted page (:mod:`.expected_content`);
- impersonation: :mod:`.impersonate` (the add-on, the middleware naming the browser, the user
  agent's filters for it) and :mod:`.impersonate_handler` (curl_cffi as that browser);
- :mod:`.signals`: how the middlewares tell each other about bans and failures.

Other packages use :func:`check_user_agent_filters` (the rule compiler's view of the user-agent
data, through the compile context), :class:`ExpectsContent` (what the ban middleware asks of
a spider), :func:`has_expected_content` (the spider's answer, for the render middleware's
judgement of a page that is still loading), and :data:`request_banned` with
:func:`parse_retry_after` (the host budget slows a host that bans or asks for time).
"""

from crawler.antiban.expected_content import ExpectsContent, has_expected_content
from crawler.antiban.retry_after import parse_retry_after
from crawler.antiban.signals import request_banned
from crawler.antiban.useragents import check_user_agent_filters

__all__ = [
    "ExpectsContent",
    "check_user_agent_filters",
    "has_expected_content",
    "parse_retry_after",
    "request_banned",
]
