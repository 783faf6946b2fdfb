"""Anti-ban logic shared by the downloader middlewares in crawler.middlewares.

- banpolicy: decides whether a response or an exception is a ban (replaceable: BAN_POLICY_CLASS)
- rotation: how a proxy is picked among the pool's candidates (PROXY_POLICY)
- useragents: user-agent catalog from fake-useragent's data and coherent header profiles
- sessions: named cookie sessions, loaded from files or a login step
- rule: the rule's ``antiban:`` section (schema, checks, mapping to settings)
- signals: the signals the middlewares use to tell each other about bans and failures
"""
