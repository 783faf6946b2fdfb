"""``/api/captchas``: the captchas waiting for a person (``CAPTCHA_MANUAL_DIR``), listed newest
first with their page's credentials masked, their images served as images and nothing else, and
answered once by an editor with an answer that fits the captcha's kind (text, click points in
the image, a slider's x); reads as items are, changes with the editor role (a session's with
its CSRF token), each answer logged without its text."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path
from typing import Any

from crawler.captcha import CaptchaStore, answer_problem
from crawler.service.api_tokens import TokenFile
from crawler.service.captcha_api import image_size
from tests.crawler.service.conftest import make_service


def png(width: int, height: int) -> bytes:
    """A grey PNG of ``width`` × ``height`` pixels."""

    def chunk(name: bytes, data: bytes) -> bytes:
        body = name + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def add(store: CaptchaStore, kind: str = "text", **extra: Any) -> str:
    options = {"kind": kind, "prompt": extra.pop("prompt", "")}
    cid = store.add(png(100, 40), url=extra.pop("url", "http://shop.example/p/1"),
                    rule="shop", **options, **extra)  # fmt: skip
    time.sleep(0.01)  # newest first: each a little later
    return cid


def captcha_service(tmp: Path, **settings: Any):
    return make_service("sqlite", tmp, CAPTCHA_MANUAL_DIR=str(tmp / "captchas"), **settings)


def test_pending_captchas_are_listed_newest_first_with_credentials_masked(tmp_path):
    for service in captcha_service(tmp_path):
        client = service.client
        assert client.get("/api/captchas").json()["items"] == []  # no directory yet
        store = CaptchaStore(tmp_path / "captchas")
        first = add(store, url="http://bob:s3cret@shop.example/login?next=/p/1")
        second = add(store, "click", prompt="click the cat, then the dog")
        answer = client.get("/api/captchas").json()
        assert [c["id"] for c in answer["items"]] == [second, first]
        assert answer["total"] == 2 and answer["more"] is False
        older = answer["items"][1]
        assert older["url"] == "http://***@shop.example/login?next=/p/1"
        assert "s3cret" not in str(answer)
        assert older["rule"] == "shop" and older["kind"] == "text"
        assert (older["width"], older["height"]) == (100, 40)
        assert older["age"] >= 0 and older["created"].startswith("20")
        assert answer["items"][0]["kind"] == "click"
        assert answer["items"][0]["prompt"] == "click the cat, then the dog"
        store.answer(first, "K7PX")
        assert [c["id"] for c in client.get("/api/captchas").json()["items"]] == [second]


def test_an_image_is_served_as_an_image_by_its_checked_id_only(tmp_path):
    for service in captcha_service(tmp_path):
        client = service.client
        store = CaptchaStore(tmp_path / "captchas")
        cid = add(store)
        image = client.get(f"/api/captchas/{cid}/image")
        assert image.status_code == 200 and image.content == png(100, 40)
        assert image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        (tmp_path / "secret.png").write_bytes(b"not a captcha")
        for bad in (cid.upper(), cid[:-1], cid + "0", "..%2Fsecret", "..%2F..%2Fsecret.png"):
            assert client.get(f"/api/captchas/{bad}/image").status_code in (400, 404), bad
        assert client.get(f"/api/captchas/{cid}/image/..%2Fx").status_code in (400, 404)
        assert client.get(f"/api/captchas/{cid}/image/Piece").status_code == 400
        assert client.get(f"/api/captchas/{cid}/image/piece").status_code == 404
        assert client.get(f"/api/captchas/{'0' * 16}/image").status_code == 404
        page = add(store)  # a page saved where an image should be is not served
        (tmp_path / "captchas" / f"{page}.png").write_bytes(b"<html><script>x()</script>")
        assert client.get(f"/api/captchas/{page}/image").status_code == 415
        store.answer(cid, "done")
        assert client.get(f"/api/captchas/{cid}/image").status_code == 404  # answered: gone


def test_a_sliders_piece_is_served_by_its_name(tmp_path):
    for service in captcha_service(tmp_path):
        store = CaptchaStore(tmp_path / "captchas")
        cid = add(store, "slider", extra_images={"piece": png(12, 40)})
        listed = service.client.get("/api/captchas").json()["items"][0]
        assert listed["images"] == ["piece"]
        piece = service.client.get(f"/api/captchas/{cid}/image/piece")
        assert piece.status_code == 200 and piece.content == png(12, 40)


def test_a_text_answer_is_checked_given_once_and_logged_without_its_text(tmp_path, caplog):
    for service in captcha_service(tmp_path):
        client, auth = service.client, service.auth
        store = CaptchaStore(tmp_path / "captchas")
        cid = add(store)
        url = f"/api/captchas/{cid}/answer"
        for bad in ("", "   ", "x" * 101, "a\tb"):
            refused = client.post(url, json={"answer": bad}, headers=auth)
            assert refused.status_code == 422, bad
        assert client.post(url, json={}, headers=auth).status_code == 422
        assert store.answer_of(cid) is None
        with caplog.at_level("INFO", logger="crawler.service.captcha_api"):
            given = client.post(url, json={"answer": " K7PX "}, headers=auth)
        assert given.status_code == 200 and given.json() == {"answered": cid, "kind": "text"}
        assert store.answer_of(cid) == "K7PX"
        lines = [r.getMessage() for r in caplog.records]
        assert any(f"captcha {cid} (text, rule shop) answered by" in line for line in lines)
        assert not any("K7PX" in line for line in lines)
        again = client.post(url, json={"answer": "OTHER"}, headers=auth)
        assert again.status_code == 404 and store.answer_of(cid) == "K7PX"
        assert client.post("/api/captchas/nothex/answer", json={"answer": "x"},
                           headers=auth).status_code == 400  # fmt: skip
        unknown = client.post(f"/api/captchas/{'a' * 16}/answer", json={"answer": "x"},
                              headers=auth)  # fmt: skip
        assert unknown.status_code == 404


def post_answer(service: Any, cid: str, answer: str) -> Any:
    return service.client.post(
        f"/api/captchas/{cid}/answer", json={"answer": answer}, headers=service.auth
    )


def test_click_and_slider_answers_must_fit_the_image(tmp_path):
    for service in captcha_service(tmp_path):
        store = CaptchaStore(tmp_path / "captchas")
        click, slider = add(store, "click"), add(store, "slider")
        many = ";".join(f"{i},{i}" for i in range(11))
        for bad in ("K7PX", "1,2;3", "100,5", "5,40", "-1,3", "1.5,40", many):
            answer = post_answer(service, click, bad)
            assert answer.status_code == 422, (bad, answer.text)
        outside = post_answer(service, click, "100,5").json()["detail"]
        assert "outside the image (100×40)" in outside
        assert post_answer(service, click, "10,20; 99,39").status_code == 200
        assert store.answer_of(click) == "10,20;99,39"
        for bad in ("-1", "abc", "100", "1,2", "4.5"):
            assert post_answer(service, slider, bad).status_code == 422, bad
        assert post_answer(service, slider, " 42 ").status_code == 200
        assert store.answer_of(slider) == "42"


def test_answers_are_checked_per_kind():
    """One check for the dashboard and `scrapy captcha answer` (the store's)."""
    assert answer_problem("text", "K7PX") is None
    assert answer_problem("text", "x" * 101) == "a text answer is 1 to 100 characters"
    assert answer_problem("text", "a\tb") == "a text answer is one line without control characters"
    assert answer_problem("click", "1,1;2,2") is None  # size unknown: the form only
    assert "1 to 10 points" in answer_problem("click", ";".join(["1,1"] * 11), size=(50, 50))
    # a prompt naming its characters wants as many points, in its order
    assert "2 points" in answer_problem("click", "1,1", prompt="请依次点击：“山”“水”")
    assert "pixels of the image" in answer_problem("click", "-1,2")
    assert answer_problem("slider", "0", size=(1, 1)) is None
    assert "whole number" in answer_problem("slider", "-3")
    assert image_size(png(320, 160)) == (320, 160)
    assert image_size(b"GIF89a\x40\x01\xa0\x00") == (320, 160)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\xa0\x01\x40\x03"
    assert image_size(jpeg) == (320, 160)
    assert image_size(b"<html>") is None


def test_reads_need_a_viewer_off_loopback_and_answers_an_editor(tmp_path):
    for service in captcha_service(tmp_path, host="0.0.0.0"):
        client = service.client
        cid = add(CaptchaStore(tmp_path / "captchas"))
        tokens = TokenFile(tmp_path / "secrets" / "tokens.json")
        viewer = {"Authorization": f"Bearer {tokens.create('eve', role='viewer')[0]}"}
        assert client.get("/api/captchas").status_code == 401
        assert client.get(f"/api/captchas/{cid}/image").status_code == 401
        assert client.get("/api/captchas", headers=viewer).json()["items"][0]["id"] == cid
        assert client.get(f"/api/captchas/{cid}/image", headers=viewer).status_code == 200
        body = {"answer": "K7PX"}
        assert client.post(f"/api/captchas/{cid}/answer", json=body).status_code == 401
        refused = client.post(f"/api/captchas/{cid}/answer", json=body, headers=viewer)
        assert refused.status_code == 403 and "editor" in refused.json()["detail"]
        wrong = {"Authorization": "Bearer not-a-token"}
        assert (
            client.post(f"/api/captchas/{cid}/answer", json=body, headers=wrong).status_code == 401
        )
        given = client.post(f"/api/captchas/{cid}/answer", json=body, headers=service.auth)
        assert given.status_code == 200


def test_a_sessions_answer_needs_its_csrf_token(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from tests.crawler.service.signin_support import csrf, make_world, sign_in

    directory = str(tmp_path / "captchas")
    for world in make_world(tmp_path, monkeypatch, CAPTCHA_MANUAL_DIR=directory):
        cid = add(CaptchaStore(directory))
        world.roles(("sub:std:u-alice", "editor"), ("sub:std:u-bob", "viewer"))
        editor, viewer = TestClient(world.client.app), TestClient(world.client.app)
        assert sign_in(editor, "std", person="alice").status_code == 303
        assert sign_in(viewer, "std", person="bob").status_code == 303
        url, body = f"/api/captchas/{cid}/answer", {"answer": "K7PX"}
        assert viewer.get("/api/captchas").json()["items"][0]["id"] == cid
        assert viewer.post(url, json=body, headers=csrf(viewer)).status_code == 403
        missing = editor.post(url, json=body)
        assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
        assert editor.post(url, json=body, headers=csrf(editor)).status_code == 200
        assert CaptchaStore(directory).answer_of(cid) == "K7PX"
        assert not [line for line in world.log if "K7PX" in line]
        assert [line for line in world.log if f"captcha {cid} (text" in line]
