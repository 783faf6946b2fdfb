"""The Captchas page in Debian's Chromium against a real ``scrapy serve`` whose
``CAPTCHA_MANUAL_DIR`` is a temporary directory: captchas written with the pending store are
listed and answered from the page as a person does (the text typed; two clicks on a click
captcha's image shown larger than it is, sent in the image's own pixels; a slider's piece
dragged, then set), each answer landing in the store as the solver reads it; a viewer sees the
queue without controls; and a crawl waiting with the manual solver goes on once its captcha is
answered on the page."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from crawler.captcha import CaptchaStore
from tests.crawler.crawl import ROOT, SCRAPY
from tests.dashboard.service import Service, Workspace

BOOKS_RULE = """
name: few_books
args: {site: null}
start:
  - {url: "{site}/book/{1..2}.html", page: book}
pages:
  book:
    fields: {title: {css: "div.product_main h1::text", required: true}}
"""


def png(width: int, height: int, shade: int = 0x80) -> bytes:
    def chunk(name: bytes, data: bytes) -> bytes:
        body = name + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"".join((b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header),
                     chunk(b"IDAT", zlib.compress(rows)), chunk(b"IEND", b"")))  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("captchas"), "http://127.0.0.1:9")


@pytest.fixture(scope="module")
def store(workspace) -> CaptchaStore:
    return CaptchaStore(workspace.root / "captchas")


@pytest.fixture(scope="module")
def service(workspace, store) -> Iterator[Service]:
    with Service(workspace, "-s", f"CAPTCHA_MANUAL_DIR={store.directory}") as svc:
        yield svc


def open_captchas(page, service) -> None:
    page.goto(service.url + "/")
    page.locator("#token").fill(service.token)  # changes need the token (no sign-in here)
    page.locator("#token").press("Enter")
    expect(page.locator("#token-state")).to_have_text("Token set")
    page.locator('nav a[href="#/captchas"]').click()
    expect(page.locator("h1")).to_have_text("Captchas")


def card(page, cid: str):
    return page.locator(f'#captchas-list li.captcha-card[data-id="{cid}"]')


def answered(store: CaptchaStore, cid: str, timeout: float = 5) -> str | None:
    deadline = time.monotonic() + timeout
    while (answer := store.answer_of(cid)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return answer


def test_a_text_captcha_is_answered_and_leaves_the_page(page, service, store):
    cid = store.add(png(100, 40), url="http://bob:s3cret@shop.example/p/1", rule="shop")
    open_captchas(page, service)
    shown = card(page, cid)
    expect(shown.locator(".captcha-kind")).to_have_text("text")
    expect(shown.locator(".captcha-rule")).to_have_text("shop")
    expect(shown.locator(".captcha-page code")).to_have_text("http://***@shop.example/p/1")
    expect(shown.locator(".captcha-age")).to_have_text(re.compile(r"^waiting \d+ s$"))
    assert shown.locator("img.captcha-image").evaluate("i => i.naturalWidth") == 100
    shown.locator(".captcha-text").press("Enter")  # nothing typed: said so, nothing sent
    expect(shown.locator(".captcha-result")).to_have_text("Type the text first.")
    shown.locator(".captcha-text").fill("K7PX")
    shown.locator(".captcha-text").press("Enter")
    expect(page.locator("#captchas-notice")).to_have_text(
        "Answer sent for shop: its crawl goes on."
    )
    expect(shown).to_have_count(0)
    assert answered(store, cid) == "K7PX"
    # one added while the page is open shows up by itself, and in Chinese too
    later = store.add(png(100, 40), url="http://shop.example/p/2", rule="shop")
    expect(card(page, later)).to_be_visible(timeout=10_000)
    page.locator("#language").select_option("zh")
    expect(page.locator("h1")).to_have_text("验证码")
    expect(card(page, later).locator(".captcha-send")).to_have_text("提交答案")
    store.discard(later)  # given up: gone from the next listing
    page.locator("#language").select_option("en")
    expect(card(page, later)).to_have_count(0)


def test_click_and_slider_captchas_are_answered_in_image_pixels(page, service, store):
    click = store.add(png(120, 60), url="http://shop.example/a", rule="shop", kind="click",
                      prompt="请依次点击“山”“水”")  # fmt: skip
    slider = store.add(png(200, 80), url="http://shop.example/b", rule="shop", kind="slider",
                       extra_images={"piece": png(30, 80, 0x20)})  # fmt: skip
    open_captchas(page, service)

    shown = card(page, click)
    expect(shown.locator(".captcha-prompt")).to_have_text("请依次点击“山”“水”")
    image = shown.locator("img.captcha-image")
    expect(image).to_have_js_property("complete", True)
    box = image.bounding_box()
    assert box["width"] > 200, box  # shown larger than its 120 pixels: the page scales
    scale = 120 / box["width"]
    clicks = [(40.0, 30.0), (box["width"] - 25, box["height"] - 12)]
    for x, y in clicks:
        image.click(position={"x": x, "y": y})
    expect(shown.locator(".captcha-marker")).to_have_text(["1", "2"])
    image.click(position={"x": 5, "y": 5})
    shown.locator(".captcha-undo").click()  # the third click taken back
    expect(shown.locator(".captcha-marker")).to_have_count(2)
    shown.locator(".captcha-send").click()
    expect(shown).to_have_count(0)
    points = [tuple(map(int, p.split(","))) for p in answered(store, click).split(";")]
    assert len(points) == 2
    for (x, y), (got_x, got_y) in zip(clicks, points, strict=True):
        assert abs(got_x - x * scale) <= 2 and abs(got_y - y * scale) <= 2, (points, scale)

    shown = card(page, slider)
    stage = shown.locator(".captcha-stage")
    expect(shown.locator("img.captcha-image")).to_have_js_property("naturalWidth", 200)
    piece = shown.locator("img.captcha-piece")  # its left edge at x, scaled as the image is
    expect(piece).to_have_js_property("naturalWidth", 30)
    box = stage.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(shown.locator(".captcha-x")).to_have_text(re.compile(r"^x = (9[89]|10[01])$"))
    shown.locator(".captcha-slider").fill("137")
    expect(shown.locator(".captcha-x")).to_have_text("x = 137")
    assert piece.evaluate("p => [p.naturalWidth, p.style.left, p.style.width]") == [
        30,
        "68.5%",
        "15%",
    ]
    shown.locator(".captcha-send").click()
    expect(shown).to_have_count(0)
    assert answered(store, slider) == "137"


def test_a_viewer_sees_the_queue_without_answer_controls(page, service, store):
    cid = store.add(png(100, 40), url="http://shop.example/p/3", rule="shop")
    viewer = {"signin": True, "providers": [], "person": {"id": "sub:x", "name": "Bob",
                                                          "role": "viewer"}}  # fmt: skip
    page.route(  # the session as the service gives it to a signed-in viewer
        "**/api/auth/session",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(viewer)),
    )
    page.goto(service.url + "/#/captchas")
    shown = card(page, cid)
    expect(shown.locator("img.captcha-image")).to_be_visible()
    expect(page.locator("#captchas-readonly")).to_be_visible()
    expect(shown.locator("input, button")).to_have_count(0)
    store.discard(cid)


@dataclass
class WaitingCrawl:
    process: subprocess.Popen
    bot: Any
    out: Path
    log: Path


@pytest.fixture(scope="module", autouse=True)
def waiting_crawl(workspace, store) -> Iterator[WaitingCrawl]:
    """A crawl of the sample site behind its image-captcha gate with the manual solver, started
    with the module (its start-up overlaps the other tests); the last test answers it."""
    from tests.sample_site import SampleSite
    from tests.sample_site.antibot import antibot_middleware

    workspace.add_rule("few_books", BOOKS_RULE)
    out, log = workspace.root / "few_books.jsonl", workspace.root / "few_books.log"
    bot = antibot_middleware(ip_limit=0, image_captcha_after=1)
    with SampleSite(books=2, middlewares=[bot]) as site:
        args = ["crawl", "few_books", "-a", f"site={site.url}", "-O", str(out),
                *workspace.settings(), "-s", "CAPTCHA_SOLVER=manual",
                "-s", f"CAPTCHA_MANUAL_DIR={store.directory}", "-s", "CAPTCHA_MANUAL_POLL=0.1",
                "-s", "CAPTCHA_MANUAL_TIMEOUT=120"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with log.open("wb") as output:
            process = subprocess.Popen([*SCRAPY, *args], cwd=ROOT, env=env, stdout=output,
                                       stderr=subprocess.STDOUT)  # fmt: skip
        try:
            yield WaitingCrawl(process, bot, out, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_crawl_waiting_with_the_manual_solver_goes_on_once_answered_on_the_page(
    page, service, store, waiting_crawl
):
    from tests.sample_site.captchas import captcha_png

    crawl = waiting_crawl
    open_captchas(page, service)
    waiting = page.locator("#captchas-list .captcha-rule", has_text="few_books")
    expect(waiting).to_be_visible(timeout=30_000)
    (captcha,) = [c for c in store.pending() if c.rule == "few_books"]
    image = captcha.image.read_bytes()
    texts = crawl.bot.state.captcha_texts.items()
    text = next(t for tok, t in texts if captcha_png(tok) == image)
    shown = card(page, captcha.id)
    shown.locator(".captcha-text").fill(text)
    shown.locator(".captcha-send").click()
    expect(page.locator("#captchas-notice")).to_have_text(
        "Answer sent for few_books: its crawl goes on."
    )
    crawl.process.wait(timeout=60)
    assert crawl.process.returncode == 0, crawl.log.read_text(errors="replace")[-3000:]
    items = [json.loads(line) for line in crawl.out.read_text().splitlines()]
    assert len(items) == 2 and crawl.bot.state.captcha_solved >= 1
