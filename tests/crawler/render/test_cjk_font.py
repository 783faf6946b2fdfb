"""Chromium draws Chinese: the set-up installs a CJK font (Debian's fonts-noto-cjk), so Chinese
pages do not render as boxes in previews, screenshots and the captcha images the solver reads.

Four different characters drawn in the crawler's browser (its binary and flags) must give four
different pictures. The same page with only the Latin fonts visible shows what the check
catches: every character is the same empty box."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from crawler.defaults.render import RENDER_BROWSER_ARGS
from tests.dashboard.browser import CHROMIUM, require_chromium

TEXT = "安全验证"
PAGE = "<html><body>{}</body></html>".format(
    "".join(
        f'<span id="c{i}" style="display:inline-block;width:64px;height:64px;font-size:48px">'
        f"{char}</span>"
        for i, char in enumerate(TEXT)
    )
)
LATIN_ONLY = """<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/liberation</dir><cachedir>{cache}</cachedir></fontconfig>
"""


def drawn_glyphs(env: dict[str, str] | None = None) -> set[str]:
    """The distinct pictures of TEXT's characters, as Chromium draws them."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=RENDER_BROWSER_ARGS, env=env
        )
        try:
            page = browser.new_page()
            page.set_content(PAGE)
            shots = [page.locator(f"#c{i}").screenshot() for i in range(len(TEXT))]
        finally:
            browser.close()
    return {hashlib.sha256(shot).hexdigest() for shot in shots}


def test_chromium_draws_chinese_characters_not_boxes(tmp_path: Path) -> None:
    require_chromium()
    assert len(drawn_glyphs()) == len(TEXT)
    config = tmp_path / "fonts.conf"
    config.write_text(LATIN_ONLY.format(cache=tmp_path / "cache"), encoding="utf-8")
    boxes = drawn_glyphs({**os.environ, "FONTCONFIG_FILE": str(config)})
    assert len(boxes) == 1  # without a CJK font: one box for every character
