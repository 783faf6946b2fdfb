"""The rule keys of scheduled and incremental crawls: parsed into the typed rule, or reported
with file:line positions."""

from __future__ import annotations

import pytest

from crawler.rules import RuleError
from crawler.spider.project import parse_rule

BASE = """\
args: {site: "http://x"}
start: [{url: "{site}/", page: index}]
pages:
  index: {links: [{css: a, to: book}]}
  book:
    fetch: once
    refresh_after: 7d
"""


def test_schedule_and_incremental_keys_are_typed():
    rule = parse_rule(
        BASE + 'schedule: {cron: "0 6 * * 1-5", timezone: Europe/Paris, catch_up: true, '
        "retries: 2, retry_delay: 90s, timeout: 2h, args: {site: 'http://y'}}\n"
    )
    s = rule.schedule
    assert (s.cron, s.timezone, s.catch_up, s.retries) == ("0 6 * * 1-5", "Europe/Paris", True, 2)
    assert (s.retry_delay, s.timeout, dict(s.args)) == (90.0, 7200.0, {"site": "http://y"})
    assert rule.pages["book"].fetch == "once" and rule.pages["book"].refresh_after == 7 * 86400
    assert rule.pages["index"].fetch == "every" and rule.incremental


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BASE + 'schedule: {cron: "61 * * * *"}\n', "schedule.cron: invalid cron expression"),
        (
            BASE + 'schedule: {cron: "@daily", timezone: "Europe/Pari"}\n',
            "unknown time zone 'Europe/Pari' (did you mean 'Europe/Paris'?)",
        ),
        (
            BASE + 'schedule: {cron: "@daily", args: {sit: 1}}\n',
            "schedule.args.sit: argument 'sit' is not declared under args (did you mean 'site'?)",
        ),
        (BASE + 'schedule: {cron: "@daily", retry_delay: 5 minutes}\n', "schedule.retry_delay"),
        (
            BASE.replace("fetch: once", "fetch: every"),
            "refresh_after applies to pages fetched once",
        ),
        (BASE.replace("fetch: once", "fetch: sometimes"), "must be one of every, once"),
        (BASE + "schedule: {timezone: UTC}\n", "missing required field 'cron'"),
    ],
)
def test_problems_are_reported_with_positions(text, expected):
    with pytest.raises(RuleError) as info:
        parse_rule(text, filename="r.yaml")
    messages = [str(p) for p in info.value.problems]
    assert any(expected in m and m.startswith("r.yaml:") for m in messages), messages
