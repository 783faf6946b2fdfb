"""Why a sign-in failed: an RFC 6749 ``error`` code (what API clients read), a ``reason`` (what
the dashboard's sign-in page translates) and a message a person can act on. Messages name no
secret, no token and no code: at most the provider, an environment variable's name, WeChat's
errcode and the person's own id.

>>> e = SigninError.of("wechat_40163", provider="wx")
>>> e.error, e.status, e.answer()["reason"]
('invalid_grant', 400, 'wechat_40163')
>>> wechat_reason(40029), wechat_reason(45009)
('wechat_40029', 'wechat_other')
"""

from __future__ import annotations

from typing import Any

AGAIN = "Sign in again from the sign-in page."
TELL = "tell an administrator if it keeps happening"
PERSISTS = "If it keeps happening, tell an administrator."
# reason -> (RFC 6749 error, HTTP status, message)
REASONS: dict[str, tuple[str, int, str]] = {
    "state": ("invalid_request", 400,
              "This sign-in did not start in this browser, or took too long: its state does not "
              f"match (refused as a possible forgery, CSRF). {AGAIN}"),
    "access_denied": ("access_denied", 403,
                      f"The sign-in was not allowed at {{provider}}. {AGAIN}"),
    "provider_error": ("invalid_request", 400,
                       f"{{provider}} refused the sign-in ({{detail}}). Try again; {TELL}."),
    "code_rejected": ("invalid_grant", 400,
                      "The sign-in code was refused: codes are single-use and expire within "
                      f"minutes. {AGAIN}"),
    "client_rejected": ("invalid_client", 502,
                        "{provider} refused this service's client id or secret: an administrator "
                        "must check client_id in SIGNIN_PROVIDERS and the secret in {env}."),
    "id_token": ("invalid_request", 400,
                 "The ID token from {provider} is not valid for this sign-in (signature, issuer, "
                 f"audience, expiry or nonce). {AGAIN} {PERSISTS}"),
    "no_identity": ("server_error", 502,
                    "{provider} did not say who you are (no {detail}): an administrator must "
                    "check the provider's claims in SIGNIN_PROVIDERS."),
    "unreachable": ("temporarily_unavailable", 503,
                    "{provider} could not be reached or answered something unexpected. Try again "
                    "in a moment."),
    "no_role": ("access_denied", 403,
                "You signed in as {name} ({id}), but this identity has no role here. Ask an "
                "administrator to run: scrapy auth people add {id} --role viewer"),
    "unknown_provider": ("invalid_request", 404, "There is no sign-in provider named {provider}."),
    "not_allowed": ("access_denied", 403,
                    "{provider} does not let this service's app sign you in (error {errcode}): "
                    "you are outside the app's visible range or may not use it, or the app is "
                    "not authorised. Ask an administrator."),
    "provider_refused": ("server_error", 502,
                         f"{{provider}} answered error {{errcode}}. Try again later; {TELL}."),
    "wechat_40029": ("invalid_grant", 400,
                     "WeChat says the sign-in code is not valid (errcode 40029; codes expire "
                     f"after 5 minutes). {AGAIN}"),
    "wechat_40163": ("invalid_grant", 400,
                     "WeChat says this sign-in code was already used (errcode 40163; codes are "
                     f"single-use; do not reload the page WeChat sent you back to). {AGAIN}"),
    "wechat_40030": ("invalid_grant", 401,
                     "Your WeChat authorization expired (after 30 days) or was withdrawn "
                     f"(errcode 40030, invalid refresh_token). {AGAIN}"),
    "wechat_40003": ("invalid_grant", 400,
                     "WeChat does not know this account for the app (errcode 40003, invalid "
                     f"openid). {AGAIN} {PERSISTS}"),
    "wechat_42001": ("invalid_grant", 400,
                     "The WeChat access token expired before the sign-in finished (errcode "
                     f"42001). {AGAIN}"),
    "wechat_40001": ("invalid_client", 502,
                     "WeChat refused this service's AppID or AppSecret (errcode 40001): an "
                     "administrator must check client_id in SIGNIN_PROVIDERS and the secret in "
                     "{env}."),
    "wechat_other": ("server_error", 502,
                     f"WeChat answered errcode {{errcode}}. Try again later; {TELL}."),
}  # fmt: skip
WECHAT_CODES = (40029, 40163, 40030, 40003, 42001, 40001)


def wechat_reason(errcode: int | None) -> str:
    return f"wechat_{errcode}" if errcode in WECHAT_CODES else "wechat_other"


class SigninError(Exception):
    """A failed sign-in; ``str()`` is the person's message."""

    def __init__(self, reason: str, values: dict[str, Any]) -> None:
        self.reason = reason
        self.error, self.status, template = REASONS[reason]
        self.values = {k: str(v)[:200] for k, v in values.items()}
        if reason == "provider_error" and values.get("error"):
            self.error = str(values["error"])[:60]  # the provider's own RFC 6749 code
        try:
            self.description = template.format(**self.values)
        except KeyError:  # a value the caller did not know: the template as it stands
            self.description = template
        super().__init__(self.description)

    @classmethod
    def of(cls, reason: str, **values: Any) -> SigninError:
        return cls(reason, values)

    def answer(self) -> dict[str, str]:
        """The RFC 6749 error answer, with our reason and the values the page's text needs."""
        extra = {k: v for k, v in self.values.items() if k in ("provider", "errcode", "id", "name")}
        return {"error": self.error, "error_description": self.description,
                "reason": self.reason, **extra}  # fmt: skip
