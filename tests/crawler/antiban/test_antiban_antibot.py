"""The sample site's anti-bot mode answers deterministically."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.sample_site import SampleSite
from tests.sample_site.antibot import antibot_middleware


def fetch(url: str, ua: str = "t/1") -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers={"User-Agent": ua})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_address_ban_captchas_and_429s():
    bot = antibot_middleware(ip_limit=6, window=60, captcha_every=2, too_many_every=5)
    with SampleSite(books=3, middlewares=[bot]) as site:
        answers = [fetch(f"{site.url}/book/1.html") for _ in range(8)]
    # 2, 4, 6: captcha pages with status 200; 5: 429; 7 and 8: over 6 per window, banned.
    assert [a[0] for a in answers] == [200, 200, 200, 200, 429, 200, 403, 403]
    assert all("g-recaptcha" in answers[i][1] for i in (1, 3, 5))
    assert "g-recaptcha" not in answers[0][1] and answers[4][2]["Retry-After"] == "1"
    state = bot.state
    assert (state.captchas, state.too_many, state.rejected) == (3, 1, 2)
    assert state.banned_ips["127.0.0.1"] == 1 and state.served["/book/1.html"] == 2


def test_user_agent_ban_is_separate():
    bot = antibot_middleware(ip_limit=0, ua_limit=2, window=60)
    with SampleSite(books=3, middlewares=[bot]) as site:
        statuses = [fetch(f"{site.url}/book/1.html", ua=ua)[0] for ua in ("a", "a", "a", "b")]
    assert statuses == [200, 200, 403, 200]
    assert bot.state.banned_uas["a"] == 1
