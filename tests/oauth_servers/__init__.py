"""Loopback OAuth servers for the tests: a real authorization server built with Authlib's server
components (:mod:`.standard`) and a WeChat-dialect server behaving as WeChat documents its web
authorization (:mod:`.wechat`), each with a protected API answering items, and 401 / errcode
42001 once a token has expired; and the sign-in presets' providers (:mod:`.presets`: WeCom,
DingTalk, Feishu / Lark, GitHub and Weibo, one server). All run in-process
(:class:`.running.ServerThread`) or as ``python -m tests.oauth_servers.standard`` /
``.wechat`` / ``.presets``.
"""
