"""The kinds of captcha a page shows, told from its markup, and the answer each kind's form takes.

A captcha page (the ban policy's verdict) shows one of:

- ``slider``: a background image with a gap and a piece image, in one form
  (``CAPTCHA_SLIDER_BACKGROUND_XPATH``, ``CAPTCHA_SLIDER_PIECE_XPATH``); the answer is the gap's
  x offset (into ``CAPTCHA_SLIDER_INPUT``) and the drag that got there, ``[[x, t_ms], ...]`` as
  JSON (into ``CAPTCHA_SLIDER_TRACK_INPUT``; :func:`crawler.captcha.slider.drag_track`);
- ``click``: a captcha image and a prompt naming characters to click in order
  (``CAPTCHA_CLICK_PROMPT_XPATH``, run from the image's form); the answer ``x1,y1;x2,y2;...`` goes into
  ``CAPTCHA_CLICK_INPUT``;
- ``text``: a captcha image (``CAPTCHA_IMAGE_XPATH``); the text goes into ``CAPTCHA_INPUT``
  (else the form's first text input).

They are tried in that order: a slider's or a click captcha's image usually says "captcha"
too. A :class:`Challenge` is what a solver is given: the kind, the images, the prompt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from crawler.captcha.click import parse_clicks, prompt_targets
from crawler.captcha.pending import KINDS

__all__ = ["KINDS", "BadAnswer", "CaptchaPages", "Challenge", "Found", "answer_fields", "in_forms"]


@dataclass(frozen=True)
class Challenge:
    """A captcha as a solver sees it. ``image``: the text captcha's image, the slider's
    background or the picture to click in; ``piece``: the slider's piece; ``targets``: the
    characters the prompt names, in order."""

    kind: str
    url: str
    image: bytes
    piece: bytes | None = None
    prompt: str = ""
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    """Where a page's captcha is: its kind, its form, its images' URLs, its prompt and the
    fields the answer goes into."""

    kind: str
    form: Any
    image_url: str
    piece_url: str = ""
    prompt: str = ""
    input_name: str = ""
    extra_inputs: dict[str, str] = field(default_factory=dict)


class CaptchaPages:
    """The settings that tell the kinds apart (XPaths, fields), read once per crawl."""

    def __init__(
        self,
        *,
        image_xpath: str,
        text_input: str,
        slider_background_xpath: str = "",
        slider_piece_xpath: str = "",
        slider_input: str = "x",
        slider_track_input: str = "track",
        click_prompt_xpath: str = "",
        click_input: str = "clicks",
    ) -> None:
        self.image_xpath = image_xpath
        self.text_input = text_input
        self.slider_background_xpath = slider_background_xpath
        self.slider_piece_xpath = slider_piece_xpath
        self.slider_input = slider_input
        self.slider_track_input = slider_track_input
        self.click_prompt_xpath = click_prompt_xpath
        self.click_input = click_input

    @classmethod
    def from_settings(cls, settings: Any) -> CaptchaPages:
        return cls(
            image_xpath=settings.get("CAPTCHA_IMAGE_XPATH"),
            text_input=settings.get("CAPTCHA_INPUT"),
            slider_background_xpath=settings.get("CAPTCHA_SLIDER_BACKGROUND_XPATH"),
            slider_piece_xpath=settings.get("CAPTCHA_SLIDER_PIECE_XPATH"),
            slider_input=settings.get("CAPTCHA_SLIDER_INPUT"),
            slider_track_input=settings.get("CAPTCHA_SLIDER_TRACK_INPUT"),
            click_prompt_xpath=settings.get("CAPTCHA_CLICK_PROMPT_XPATH"),
            click_input=settings.get("CAPTCHA_CLICK_INPUT"),
        )

    def find(self, root: Any) -> Found | None:
        """The page's captcha (``root``: the page parsed by lxml), or None."""
        return self._slider(root) or self._click(root) or self._text(root)

    def _slider(self, root: Any) -> Found | None:
        if not (self.slider_background_xpath and self.slider_piece_xpath):
            return None
        pieces = dict(in_forms(root, self.slider_piece_xpath))
        for form, background in in_forms(root, self.slider_background_xpath):
            piece = pieces.get(form)
            if piece and piece != background:
                extra = {self.slider_track_input: ""} if self.slider_track_input else {}
                return Found("slider", form, background, piece, "", self.slider_input, extra)
        return None

    def _click(self, root: Any) -> Found | None:
        if not self.click_prompt_xpath:
            return None
        for form, image in in_forms(root, self.image_xpath):
            for node in form.xpath(self.click_prompt_xpath):
                text = node if isinstance(node, str) else node.text_content()
                prompt = " ".join(str(text).split())
                if prompt_targets(prompt):
                    return Found("click", form, image, "", prompt, self.click_input)
        return None

    def _text(self, root: Any) -> Found | None:
        for form, image in in_forms(root, self.image_xpath):
            return Found("text", form, image, "", "", self.text_input)
        return None


def in_forms(root: Any, xpath: str) -> list[tuple[Any, str]]:
    """(form, URL) of each image ``xpath`` gives that is inside a form."""
    found = []
    for src in root.xpath(xpath):
        owner = src.getparent() if hasattr(src, "getparent") else None
        node = owner if owner is not None else src
        form = next((a for a in node.iterancestors("form")), None)
        if form is not None and str(src).strip():
            found.append((form, str(src).strip()))
    return found


class BadAnswer(ValueError):
    """A solver's answer that is not of its kind's shape."""


def answer_fields(found: Found, challenge: Challenge, answer: str) -> tuple[str, dict[str, str]]:
    """The value for the answer's field and the other fields to set, for ``answer`` in the
    pending store's shape (text; ``x`` for a slider; ``x1,y1;...`` for a click captcha).

    >>> found = Found("slider", None, "/bg.png", "/piece.png", "", "x", {"track": ""})
    >>> value, extra = answer_fields(found, Challenge("slider", "http://s/", b"PNG"), "131.4")
    >>> value, json.loads(extra["track"])[-1][0]
    ('131', 131)
    """
    answer = answer.strip()
    if found.kind == "slider":
        try:
            x = round(float(answer))
        except ValueError:
            raise BadAnswer(f"a slider answer is a number of pixels, not {answer[:20]!r}") from None
        if x < 0:
            raise BadAnswer("a slider answer is a positive offset")
        from crawler.captcha.slider import drag_track

        seed = hashlib.sha1(challenge.image).hexdigest()[:12]
        extra = {name: json.dumps(drag_track(x, seed=seed)) for name in found.extra_inputs}
        return str(x), extra
    if found.kind == "click":
        try:
            points = parse_clicks(answer)
        except ValueError:
            raise BadAnswer(f"a click answer is x,y;x,y..., not {answer[:30]!r}") from None
        if challenge.targets and len(points) != len(challenge.targets):
            raise BadAnswer(f"{len(points)} points for {len(challenge.targets)} characters")
        return answer, {}
    return answer, {}
