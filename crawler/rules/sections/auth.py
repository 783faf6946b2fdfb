"""``auth:``: the rule's source sits behind OAuth 2.0 tokens. It names a provider (configured in
the project's ``OAUTH_PROVIDERS``: endpoints, client id, the environment variable holding the
secret, the dialect, where the token goes) and which of its stored credentials to use. A rule
never holds a secret, an endpoint or a host a token may go to: those are the project's. See
docs/auth.md. Example::

    auth:
      provider: gitlab
      credential: ci-bot     # stored by `scrapy auth authorize gitlab --credential ci-bot`

>>> auth_settings(AuthSpec("gitlab", "ci-bot"))
{'OAUTH_PROVIDER': 'gitlab', 'OAUTH_CREDENTIAL': 'ci-bot'}
>>> auth_settings(None)
{}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.rules.compile_context import BuildContext
from crawler.rules.problems import did_you_mean
from crawler.rules.sections import Section

NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}

AUTH = {
    "type": "object",
    "description": "OAuth 2.0 tokens on this crawl's requests (docs/auth.md): a provider of "
    "the project's OAUTH_PROVIDERS and one of its stored credentials.",
    "properties": {
        "provider": {
            **NAME,
            "description": "A provider configured in the project's OAUTH_PROVIDERS setting.",
        },
        "credential": {
            **NAME,
            "default": "default",
            "description": "Which stored credential of the provider (`scrapy auth authorize "
            "PROVIDER --credential NAME` stores one; `scrapy auth source-tokens` lists them).",
        },
    },
    "required": ["provider"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class AuthSpec:
    provider: str
    credential: str = "default"


def build(ctx: BuildContext) -> AuthSpec | None:
    spec = ctx.data.get("auth")
    if not isinstance(spec, dict) or ctx.broken(("auth",)):
        return None
    provider = spec["provider"]
    known = ctx.env.oauth_providers
    if known is not None and provider not in known:
        names = ", ".join(sorted(known)) or "none is configured"
        ctx.error(
            ("auth", "provider"),
            f"no provider {provider!r} in OAUTH_PROVIDERS ({names}){did_you_mean(provider, known)}",
        )
    return AuthSpec(provider=provider, credential=spec.get("credential", "default"))


def auth_settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, AuthSpec):
        return {}
    return {"OAUTH_PROVIDER": value.provider, "OAUTH_CREDENTIAL": value.credential}


SECTION = Section(
    name="auth",
    order=55,
    properties={"auth": {"$ref": "#/$defs/auth"}},
    defs={"auth": AUTH},
    build=build,
    settings=auth_settings,
)
