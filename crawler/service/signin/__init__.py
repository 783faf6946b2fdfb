"""People signing in to the data service (docs/auth.md, "Signing in to the dashboard"): WeChat
web authorization, OAuth 2.0 / OpenID Connect and the presets (WeCom, DingTalk, Feishu / Lark,
GitHub, Weibo: docs/signin/), roles, sessions and CSRF protection. The API's
one way in is ``crawler.service.access.require_role``, which asks
:class:`~crawler.service.signin.signin.SignIn` who a session belongs to.

- :mod:`~crawler.service.signin.signin_providers`: ``SIGNIN_PROVIDERS``, checked;
- :mod:`~crawler.service.signin.roles`: roles, identities, the roles file;
- :mod:`~crawler.service.signin.signin_sessions`: sessions and people on the server, signed cookies;
- :mod:`~crawler.service.signin.session_cookies`: the session of each request, its cookies;
- :mod:`~crawler.service.signin.presets`: the presets' endpoints and keys, checked;
- :mod:`~crawler.service.signin.wechat_signin`, :mod:`~crawler.service.signin.oidc`,
  :mod:`~crawler.service.signin.preset_signin` (with what each preset asks its provider,
  :mod:`~crawler.service.signin.preset_apis`): the flows;
- :mod:`~crawler.service.signin.errors`: why a sign-in failed, in words a person can act on;
- :mod:`~crawler.service.signin.signin`: all of it built from settings, the log filter;
- :mod:`~crawler.service.signin.routes`: the ``/api/auth/`` endpoints.
"""
