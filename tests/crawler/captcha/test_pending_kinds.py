"""The pending store's kinds (text, click, slider): what a person is shown and what an answer
must look like, and the manual solver waiting on a slider's and a click captcha's answers."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from crawler.captcha import manual
from crawler.captcha.kinds import Challenge
from crawler.captcha.manual import ManualSolver
from crawler.captcha.pending import CaptchaStore, PendingCaptcha

PROMPT = "请依次点击：“山”“水”“花”"


def test_each_kind_round_trips_with_its_prompt_and_images(tmp_path):
    store = CaptchaStore(tmp_path)
    text = store.add(b"T", url="http://s/1", rule="shop")
    click = store.add(b"C", url="http://s/2", rule="shop", kind="click", prompt=PROMPT)
    slider = store.add(
        b"BG", url="http://s/3", rule="shop", kind="slider", extra_images={"piece": b"PIECE"}
    )
    by_id = {p.id: p for p in store.pending()}
    assert (by_id[text].kind, by_id[text].prompt, by_id[text].extra_images) == ("text", "", {})
    assert (by_id[click].kind, by_id[click].prompt) == ("click", PROMPT)
    assert by_id[slider].kind == "slider" and by_id[slider].image.read_bytes() == b"BG"
    assert by_id[slider].extra_images["piece"].read_bytes() == b"PIECE"
    meta = json.loads((tmp_path / f"{click}.json").read_text(encoding="utf-8"))
    assert (meta["kind"], meta["prompt"]) == ("click", PROMPT)

    store.answer(text, "K7PX")
    store.answer(click, "12,30;88,41.5;140,77")
    store.answer(slider, " 131 ")
    assert [store.answer_of(c) for c in (text, click, slider)] == [
        "K7PX", "12,30;88,41.5;140,77", "131",
    ]  # fmt: skip
    assert store.pending() == []
    store.discard(slider)
    assert not any(p.name.startswith(slider) for p in tmp_path.iterdir())


def test_answers_of_the_wrong_shape_for_their_kind_are_refused(tmp_path):
    store = CaptchaStore(tmp_path)
    click = store.add(b"C", url="http://s/", rule="r", kind="click", prompt=PROMPT)
    slider = store.add(b"S", url="http://s/", rule="r", kind="slider")
    for wrong in ("12,30;88,41", "山水花"):
        with pytest.raises(ValueError, match="3 points"):
            store.answer(click, wrong)
    with pytest.raises(ValueError, match="point 3"):
        store.answer(click, "1,2;3,4;5")
    with pytest.raises(ValueError, match="x offset"):
        store.answer(slider, "131,40")
    with pytest.raises(ValueError, match="kind"):
        store.add(b"X", url="http://s/", rule="r", kind="audio")
    assert store.answer_of(click) is None and store.answer_of(slider) is None


def test_a_record_written_before_kinds_reads_as_text(tmp_path):
    (tmp_path / "0123456789abcdef.png").write_bytes(b"T")
    record = {"url": "http://s/", "rule": "r", "created": time.time()}
    (tmp_path / "0123456789abcdef.json").write_text(json.dumps(record), encoding="utf-8")
    [old] = CaptchaStore(tmp_path).pending()
    assert isinstance(old, PendingCaptcha) and (old.kind, old.prompt) == ("text", "")


@pytest.mark.parametrize(
    ("kind", "answer"), [("slider", "131"), ("click", "1,2;3,4;5,6"), ("text", "K7PX")]
)
def test_the_manual_solver_waits_for_a_person_for_every_kind(tmp_path, monkeypatch, kind, answer):
    monkeypatch.setattr(manual, "sleep", asyncio.sleep)  # no reactor here: the loop's own sleep
    store = CaptchaStore(tmp_path)
    solver = ManualSolver(store, "shop", timeout=10, poll=0.02)

    def person() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for captcha in store.pending():
                assert captcha.kind == kind
                if kind == "slider":
                    assert captcha.extra_images["piece"].read_bytes() == b"PIECE"
                if kind == "click":
                    assert captcha.prompt == PROMPT
                store.answer(captcha.id, answer)
                return
            time.sleep(0.02)

    helper = threading.Thread(target=person)
    helper.start()
    if kind == "text":
        got = asyncio.run(solver.solve(b"IMG", url="http://s/"))
    else:
        piece = b"PIECE" if kind == "slider" else None
        challenge = Challenge(kind, "http://s/", b"IMG", piece, PROMPT if kind == "click" else "")
        got = asyncio.run(solver.solve_challenge(challenge))
    helper.join()
    assert got == answer
    assert list(tmp_path.iterdir()) == []  # answered captchas do not linger
