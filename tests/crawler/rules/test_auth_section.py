"""The ``auth:`` section: a provider of the project's and a credential name, nothing else (no
secret, endpoint or host in a rule), checked against OAUTH_PROVIDERS, mapped to settings."""

from __future__ import annotations

import pytest

from crawler.rules import RuleError
from crawler.rules.sections.auth import AuthSpec
from crawler.spider.project import parse_rule
from tests.crawler.crawl import scrapy

BASE = (
    "name: r\nstart: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
)
PROVIDERS = frozenset({"gitlab", "wx"})


def problems(text: str, **overrides) -> list[str]:
    with pytest.raises(RuleError) as info:
        parse_rule(text, filename="r.yaml", **overrides)
    return [str(p) for p in info.value.problems]


def test_a_provider_and_a_credential_become_the_middlewares_settings():
    rule = parse_rule(
        BASE + "auth: {provider: gitlab, credential: ci-bot}\n", oauth_providers=PROVIDERS
    )
    assert rule.section("auth") == AuthSpec("gitlab", "ci-bot")
    assert rule.crawl_settings["OAUTH_PROVIDER"] == "gitlab"
    assert rule.crawl_settings["OAUTH_CREDENTIAL"] == "ci-bot"
    plain = parse_rule(BASE + "auth: {provider: wx}\n", oauth_providers=PROVIDERS)
    assert plain.crawl_settings["OAUTH_CREDENTIAL"] == "default"
    assert "OAUTH_PROVIDER" not in parse_rule(BASE).crawl_settings


def test_an_unknown_provider_is_an_error_at_its_line_with_a_suggestion():
    found = problems(BASE + "auth:\n  provider: gitlb\n", oauth_providers=PROVIDERS)
    assert found == ["r.yaml:5:3: auth.provider: no provider 'gitlb' in OAUTH_PROVIDERS "
                     "(gitlab, wx) (did you mean 'gitlab'?)"]  # fmt: skip


@pytest.mark.parametrize(
    "section",
    [
        "auth: {provider: gitlab, client_secret: hunter2}",
        "auth: {provider: gitlab, token_url: 'https://evil.test/t'}",
        "auth: {provider: gitlab, hosts: [evil.test]}",
        "auth: {credential: x}",
        "auth: {provider: '../etc'}",
    ],
)
def test_a_rule_names_a_provider_and_a_credential_only(section):
    assert problems(BASE + section + "\n", oauth_providers=PROVIDERS)


def test_validate_knows_the_projects_providers(tmp_path):
    (tmp_path / "r.yaml").write_text(BASE + "auth: {provider: wx}\n")
    providers = (
        '{"gitlab": {"token_url": "https://g.test/t", "client_id": "c", "client_secret_env": "S"}}'
    )
    proc = scrapy("validate", str(tmp_path / "r.yaml"), "-s", f"OAUTH_PROVIDERS={providers}")
    assert (
        proc.returncode != 0
        and "no provider 'wx' in OAUTH_PROVIDERS (gitlab)" in proc.stdout + proc.stderr
    )
