"""Sources: text and JSON URLs, a paid provider API with its key from the environment, files,
the environment, registered fetcher classes and rule-based sources."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from proxies.model import Proxy
from proxies.pool_store import EmbeddedStore, source_stats
from proxies.sources import (
    EnvSource,
    FileSource,
    RuleSource,
    SourceError,
    SourceSchedule,
    UrlSource,
    fetch_sources,
    items_to_proxies,
    load_paid,
    parse_text,
    register_fetcher,
    source_from_config,
    sources_from_settings,
)
from tests.proxies.source_pages import VENDOR_KEY, SourceSite

FREE = [Proxy(f"10.1.0.{i}", 8080 + i) for i in range(1, 6)]
PAID = [Proxy("10.2.0.1", 3128, username="acme", password="pa$$:word")]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with SourceSite(FREE, PAID) as base:
        yield base


def test_text_json_and_api_sources(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_KEY", VENDOR_KEY)
    store = EmbeddedStore(None)
    sources = [
        UrlSource("free-text", f"{site}/free.txt"),
        UrlSource("free-json", f"{site}/free.json", format="json"),
        source_from_config(
            {"name": "vendor", "type": "api", "url": f"{site}/vendor?key=${{VENDOR_KEY}}"}
        ),
        UrlSource("free-html", f"{site}/free.html", format="text"),  # a page that is not a list
        UrlSource("gone", f"{site}/missing.txt"),
    ]
    found, reports = asyncio.run(fetch_sources(sources, store))
    by = {r.source: r for r in reports}
    assert by["free-text"].found == 5 and by["free-text"].added == 5
    assert (
        by["free-json"].found == 5 and by["free-json"].added == 0
    )  # same proxies, first source kept
    assert by["vendor"].found == 1
    assert by["free-html"].found == 0
    assert "404" in by["gone"].error
    paid = store.get(PAID[0].key)
    assert paid.proxy.paid and paid.proxy.password == "pa$$:word" and paid.proxy.source == "vendor"
    assert {r.proxy.source for r in store.all()} == {"free-text", "vendor"}
    assert source_stats(store.all())["vendor"]["paid"] == 1


def test_api_key_missing_or_wrong(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENDOR_KEY", raising=False)
    src = UrlSource("vendor", f"{site}/vendor?key=${{VENDOR_KEY}}", paid=True)
    _, reports = asyncio.run(fetch_sources([src]))
    assert reports[0].error == "environment variable VENDOR_KEY is not set"
    monkeypatch.setenv("VENDOR_KEY", "wrong-key")
    _, reports = asyncio.run(fetch_sources([src]))
    assert "403" in reports[0].error and "wrong-key" not in reports[0].error


def test_file_env_and_settings(tmp_path, monkeypatch: pytest.MonkeyPatch, site: str) -> None:
    paid_file = tmp_path / "paid.txt"
    paid_file.write_text("# our vendor\nhttp://bob:hunter2@10.3.0.1:3128\nsocks5://10.3.0.2:1080\n")
    monkeypatch.setenv("PROXY_POOL_PAID_PROXIES", "http://eve:pw@10.3.0.3:8000, 10.3.0.4:8000")
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        f"sources:\n  - {{name: listed, type: text, url: '{site}/free.txt', refresh: 60}}\n"
    )
    settings = {
        "PROXY_POOL_SOURCES_FILE": str(sources_file),
        "PROXY_POOL_PAID_FILE": str(paid_file),
    }
    sources = sources_from_settings(settings)
    assert [s.name for s in sources] == ["listed", "paid-file", "paid-env"]
    paid = load_paid(settings)
    assert {p.address for p in paid} == {
        "10.3.0.1:3128",
        "10.3.0.2:1080",
        "10.3.0.3:8000",
        "10.3.0.4:8000",
    }
    assert all(p.paid for p in paid)
    assert next(p for p in paid if p.port == 1080).scheme == "socks5"
    assert asyncio.run(EnvSource("e").fetch())[0].username == "eve"
    with pytest.raises(SourceError, match="cannot read"):
        FileSource("x", str(tmp_path / "nope.txt")).read()
    with pytest.raises(SourceError, match="unknown type"):
        source_from_config({"name": "x", "type": "ftp"})
    with pytest.raises(SourceError, match="unique"):
        sources_from_settings(
            {
                "PROXY_POOL_SOURCES": [
                    {"name": "a", "url": "http://x/"},
                    {"name": "a", "url": "http://y/"},
                ]
            }
        )


def test_registered_fetcher_class() -> None:
    @register_fetcher("odd-site")
    class OddSite:
        def __init__(
            self, name: str, paid: bool = False, refresh: float = 60.0, pages: int = 1
        ) -> None:
            self.name, self.paid, self.refresh, self.pages = name, paid, refresh, pages

        async def fetch(self, session) -> list[Proxy]:
            return [Proxy(f"10.4.0.{i}", 80, source=self.name) for i in range(1, self.pages + 1)]

    src = source_from_config({"name": "odd", "type": "class", "class": "odd-site", "pages": 3})
    found, reports = asyncio.run(fetch_sources([src]))
    assert len(found) == 3 and all(p.source == "odd" for p in found)


def test_rule_source_uses_the_runner_it_is_given() -> None:
    items = [
        {"host": "10.5.0.1", "port": "3128", "protocol": "HTTP", "anonymity": "elite"},
        {"host": "10.5.0.2", "port": 1080, "protocol": "SOCKS5"},
        {"host": "10.5.0.3", "port": "not a port"},
        {"ip": "10.5.0.4:8080"},
    ]
    src = source_from_config({"name": "free-proxy-site", "type": "rule", "rule": "free_proxy_site"})
    assert isinstance(src, RuleSource)
    _, reports = asyncio.run(fetch_sources([src]))
    assert "no rule runner" in reports[0].error
    calls = []

    async def runner(rule: str, args: dict):
        calls.append((rule, args))
        return items

    found, _ = asyncio.run(fetch_sources([src], rule_runner=runner))
    assert calls == [("free_proxy_site", {})]
    assert [(p.address, p.scheme, p.source) for p in found] == [
        ("10.5.0.1:3128", "http", "free-proxy-site"),
        ("10.5.0.2:1080", "socks5", "free-proxy-site"),
        ("10.5.0.4:8080", "http", "free-proxy-site"),
    ]


def test_parsers_and_schedule() -> None:
    assert [
        p.url for p in parse_text("1.2.3.4:80, socks5://5.6.7.8:1080\nhttp://u:p@9.9.9.9:3128 # x")
    ] == [
        "http://1.2.3.4:80",
        "socks5://5.6.7.8:1080",
        "http://u:p@9.9.9.9:3128",
    ]
    assert items_to_proxies([{"host": "1.1.1.1", "port": 0}]) == []
    once, hourly = FileSource("once", "/dev/null"), UrlSource("hourly", "http://x/", refresh=3600)
    sched = SourceSchedule([once, hourly])
    assert sched.due(now=0) == [once, hourly]
    sched.done(once, now=0)
    sched.done(hourly, now=0)
    assert sched.due(now=100) == [] and sched.due(now=3600) == [hourly]
    assert sched.seconds_to_next(now=100) == 3500
