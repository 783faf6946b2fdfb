"""Impersonation's parts: the rule key and its targets, the add-on's handler swap, the user-agent
profile following the target, the handler's headers, proxy credentials and errors; and the JA3 /
JA4 computations of the fingerprint tests, against published examples."""

from __future__ import annotations

import doctest
import hashlib
import struct
from types import SimpleNamespace

import pytest
from curl_cffi import BrowserType, CurlOpt
from curl_cffi.requests.exceptions import RequestException
from curl_cffi.requests.impersonate import REAL_TARGET_MAP
from scrapy import Request
from scrapy.exceptions import DownloadTimeoutError, NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

import crawler.antiban.impersonate
from crawler.antiban.impersonate import HANDLER, ImpersonateMiddleware, Impersonation
from crawler.antiban.impersonate_handler import (
    ImpersonateHandler,
    _proxy_credentials,
    scrapy_error,
)
from crawler.antiban.useragent_middleware import UserAgentMiddleware
from crawler.rules.compiler import compile_rule
from crawler.rules.problems import RuleError
from crawler.rules.sections.antiban import IMPERSONATE_TARGETS, antiban_settings
from tests.settings import project_settings

from .tls_fingerprint import (
    ClientHello,
    handshake_length,
    is_grease,
    ja3,
    ja3_text,
    ja4,
    parse_client_hello,
)


def test_doctests():
    result = doctest.testmod(crawler.antiban.impersonate)
    assert result.failed == 0 and result.attempted > 0


def test_the_rules_targets_are_curl_cffis():
    """The compiler's static list (it imports no curl_cffi) is curl_cffi's, aliases included."""
    assert set(IMPERSONATE_TARGETS) == {b.value for b in BrowserType} | set(REAL_TARGET_MAP)
    assert len(set(IMPERSONATE_TARGETS)) == len(IMPERSONATE_TARGETS)


RULE = """name: shop
start:
  - url: https://shop.example/
    page: p
pages:
  p:
    fields: {title: {css: "h1::text"}}
antiban:
  impersonate: TARGET
"""


def test_a_rule_names_a_target_or_gets_a_did_you_mean_at_its_position():
    assert compile_rule(RULE.replace("TARGET", "chrome131"), filename="shop.yaml")
    with pytest.raises(RuleError) as caught:
        compile_rule(RULE.replace("TARGET", "chrom"), filename="shop.yaml")
    assert str(caught.value).startswith("shop.yaml:9:3: antiban.impersonate: ")
    assert "cannot impersonate 'chrom' (did you mean 'chrome'?)" in str(caught.value)
    assert antiban_settings({"impersonate": "safari"}) == {"IMPERSONATE": "safari"}


def test_a_user_agent_filter_beside_impersonation_is_a_warning():
    text = RULE.replace("TARGET", "firefox") + "  user_agent: {browsers: [chrome]}\n"
    warnings = [str(p) for p in compile_rule(text, filename="shop.yaml").warnings]
    assert len(warnings) == 1 and warnings[0].startswith("shop.yaml:10:3: antiban.user_agent: ")
    assert "impersonating firefox, requests present firefox's own user agent" in warnings[0]
    assert warnings[0].endswith("user_agent.browsers is ignored")


def test_the_addon_swaps_the_handlers_only_when_asked():
    with pytest.raises(NotConfigured):
        Impersonation().update_settings(Settings({"IMPERSONATE": None}))
    settings = Settings({"IMPERSONATE": "chrome"})
    Impersonation().update_settings(settings)
    assert settings.getdict("DOWNLOAD_HANDLERS") == {"http": HANDLER, "https": HANDLER}
    assert settings.get("IMPERSONATE_OTHER_HANDLER") is None
    assert settings.getdict("DOWNLOADER_MIDDLEWARES")[ImpersonateMiddleware] == 546
    # After rendering: its handler keeps the rendered pages.
    render = "crawler.render.handler.RenderDownloadHandler"
    settings = Settings({"IMPERSONATE": "chrome", "DOWNLOAD_HANDLERS": {"https": render}})
    settings.set("IMPERSONATE_OTHER_HANDLER", None, priority="project")  # the project's default
    Impersonation().update_settings(settings)
    assert settings.get("IMPERSONATE_OTHER_HANDLER") == render


def test_every_request_carries_the_target_unless_it_chose():
    mw = ImpersonateMiddleware("chrome131")
    request, own = (
        Request("https://a.example/"),
        Request("https://a.example/", meta={"impersonate": None}),
    )
    mw.process_request(request), mw.process_request(own)
    assert request.meta["impersonate"] == "chrome131" and own.meta["impersonate"] is None


@pytest.mark.parametrize("target, browser", [("firefox", "Firefox"), ("chrome131", "Chrome")])
def test_the_user_agent_profile_follows_the_target(target, browser):
    settings = {**project_settings(), "IMPERSONATE": target, "USER_AGENT_FIXED": "Bot/1.0"}
    crawler = get_crawler(settings_dict=settings)
    mw = UserAgentMiddleware.from_crawler(crawler)
    request = Request("https://a.example/")
    mw.process_request(request)
    assert mw.fixed is None and request.meta["antiban_user_agent"].count(f"{browser}/") == 1
    assert all(e["browser"] == browser for e in mw.catalog.entries)


def test_the_handler_leaves_the_browser_headers_to_curl_cffi():
    defaults = {"accept": b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    handler = SimpleNamespace(defaults={k.encode(): v for k, v in defaults.items()})
    request = Request(
        "https://a.example/",
        headers={
            "User-Agent": "profile",
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "zh-CN,zh;q=0.9",
            "Accept-Encoding": "gzip, deflate, br",
            "Cookie": "a=1",
            "X-Rule": "kept",
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "navigate",
        },
        meta={
            "antiban_profile_headers": [
                "User-Agent",
                "Accept-Language",
                "Sec-Fetch-Site",
                "Sec-Fetch-Mode",
            ]
        },
    )
    ImpersonateHandler.leave_to_browser(handler, request)  # type: ignore[arg-type]
    kept = [b"Accept-Language", b"Cookie", b"Sec-Fetch-Site", b"X-Rule"]
    assert sorted(request.headers.keys()) == kept


def test_proxy_credentials_go_to_libcurl_whole():
    header = b"Basic " + __import__("base64").b64encode(b"user:pa:ss")
    assert _proxy_credentials(header) == {
        CurlOpt.PROXYUSERNAME: b"user",
        CurlOpt.PROXYPASSWORD: b"pa:ss",
    }


def test_curl_errors_become_scrapys():
    request = Request("https://a.example/", meta={"proxy": "http://127.0.0.1:3128"})
    timeout = RequestException("Operation timed out", code=28)
    assert isinstance(scrapy_error(timeout, request, 5.0, 0), DownloadTimeoutError)
    tunnel = scrapy_error(
        RequestException("CONNECT tunnel failed, response 407", code=56), request, 5, 0
    )
    assert type(tunnel).__name__ == "TunnelError" and "127.0.0.1:3128" in str(tunnel)
    too_large = scrapy_error(
        RequestException("Maximum file size exceeded", code=63), request, 5, 10
    )
    assert "DOWNLOAD_MAXSIZE" in str(too_large)


# -- JA3 / JA4 ---------------------------------------------------------------------------------


def client_hello(
    ciphers: list[int], extensions: list[int], sig_algs: list[int], groups: list[int]
) -> bytes:
    """TLS records holding a ClientHello with these values (GREASE kept where given)."""
    bodies = {
        0x0000: b"\x00\x0e\x00\x00\x0bexample.com",
        0x0010: b"\x00\x0c\x02h2\x08http/1.1",
        0x000A: struct.pack(">H", 2 * len(groups)) + b"".join(struct.pack(">H", g) for g in groups),
        0x000B: b"\x01\x00",
        0x000D: struct.pack(">H", 2 * len(sig_algs))
        + b"".join(struct.pack(">H", s) for s in sig_algs),
        0x002B: b"\x06\x2a\x2a\x03\x04\x03\x03",
    }
    ext = b"".join(
        struct.pack(">HH", e, len(bodies.get(e, b""))) + bodies.get(e, b"") for e in extensions
    )
    hello = b"\x03\x03" + b"\x00" * 32 + b"\x00"
    hello += struct.pack(">H", 2 * len(ciphers)) + b"".join(struct.pack(">H", c) for c in ciphers)
    hello += b"\x01\x00" + struct.pack(">H", len(ext)) + ext
    handshake = b"\x01" + len(hello).to_bytes(3, "big") + hello
    # Two records, as a ClientHello split across them.
    half = len(handshake) // 2
    return b"".join(
        b"\x16\x03\x01" + struct.pack(">H", len(part)) + part
        for part in (handshake[:half], handshake[half:])
    )


CHROME_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8]
CHROME_CIPHERS += [0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
SIG_ALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def test_ja3_and_ja4_of_a_published_chrome_hello():
    """A Chrome 143 ClientHello as a fingerprinting service reported it (its ja3_text, ja3_hash,
    ja4 and ja4_ro), rebuilt with GREASE values added: both fingerprints come out as reported."""
    extensions = [0x2A2A, 0x002D, 0x0033, 0x0010, 0xFE0D, 0x0017, 0x44CD, 0x0000, 0x000B]
    extensions += [0x000A, 0x002B, 0xFF01, 0x0023, 0x0012, 0x0005, 0x000D, 0x001B, 0xBABA]
    records = client_hello(
        [0x8A8A, *CHROME_CIPHERS], extensions, SIG_ALGS, [0x4A4A, 4588, 29, 23, 24]
    )
    assert handshake_length(records) == len(records) and handshake_length(records[:60]) is None
    hello = parse_client_hello(records)
    assert hello.server_name == "example.com" and hello.alpn == [b"h2", b"http/1.1"]
    assert ja3_text(hello) == (
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
        "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
    )
    assert ja3(hello) == "98487aa16281980e7d1120d399efb6a4"
    assert ja4(hello) == "t13d1516h2_8daaf6152771_d8a2da3f94cd"


def test_ja4_of_the_specifications_example():
    """FoxIO's JA4 README: ja4_r ``t13d1516h2_002f,...,cca9_0005,...,ff01_0403,...,0601`` is
    ``t13d1516h2_8daaf6152771_e5627efa2ab1``."""
    extensions = [0x0000, 0x0005, 0x000A, 0x000B, 0x000D, 0x0010, 0x0012, 0x0015, 0x0017]
    extensions += [0x001B, 0x0023, 0x002B, 0x002D, 0x0033, 0x4469, 0xFF01]
    hello = parse_client_hello(client_hello(CHROME_CIPHERS, extensions[::-1], SIG_ALGS, [29]))
    assert ja4(hello) == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    ciphers = "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
    assert hashlib.sha256(ciphers.encode()).hexdigest()[:12] == "8daaf6152771"


def test_ja4_without_sni_alpn_or_tls13():
    hello = ClientHello(0x0303, [0x002F, 0x0A0A], [0x000B], point_formats=[0])
    assert ja4(hello).startswith("t12i010100_")
    assert ja4(ClientHello(0x0303, [], [])) == "t12i000000_000000000000_000000000000"
    assert [is_grease(v) for v in (0x0A0A, 0xFAFA, 0x0A1A, 0x1301)] == [True, True, False, False]
