"""Click-the-characters captchas: which characters the prompt asks for, and where they are.

:func:`prompt_targets` reads the characters out of a prompt (quoted, or after its colon), as
sites write it in the page (请依次点击“山”“水”“花”). :class:`CharacterLocator` finds them in the
image: ddddocr's detection model gives the boxes of the characters (decoys and stray marks
included); each box is read with ddddocr's OCR model, keeping the probability it gives each
wanted character; the wanted characters then go to distinct boxes, the assignment most probable
in all. The click points are the boxes' centres, in the prompt's order, written as the answer
``x1,y1;x2,y2;...`` (image pixels).

>>> prompt_targets("请依次点击：“山”“水”“花”"), prompt_targets("Click in order: 日 月 星")
(['山', '水', '花'], ['日', '月', '星'])
>>> prompt_targets("请按顺序点击【天】【地】"), prompt_targets("请点击下图中的文字")
(['天', '地'], [])
>>> clicks_answer([(10.4, 20), (30, 40.6)]), parse_clicks("10,20;30,41")
('10,20;30,41', [(10.0, 20.0), (30.0, 41.0)])
"""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

_QUOTED = re.compile(r"[“\"'「『【\[(（‘]\s*([^”\"'」』】\]\)）’\s]{1,4})\s*[”\"'」』】\]\)）’]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_TARGETS = 8
MAX_BOXES = 16  # boxes read at most (the largest ones)


def prompt_targets(prompt: str) -> list[str]:
    """The characters to click, in order: the quoted ones, else those after the last colon."""
    quoted = [m.group(1) for m in _QUOTED.finditer(prompt)]
    if quoted:
        return [c for q in quoted for c in q if not c.isspace()][:MAX_TARGETS]
    tail = re.split(r"[:：]", prompt)[-1] if re.search(r"[:：]", prompt) else ""
    return _CJK.findall(tail)[:MAX_TARGETS]


def clicks_answer(points: list[tuple[float, float]]) -> str:
    return ";".join(f"{round(x)},{round(y)}" for x, y in points)


def parse_clicks(answer: str) -> list[tuple[float, float]]:
    """``x1,y1;x2,y2;...`` as points; ValueError when it is not that."""
    points = []
    for part in answer.strip().split(";"):
        x, _, y = part.partition(",")
        points.append((float(x), float(y)))
    return points


class CharacterLocator:
    """ddddocr's detection model and its OCR model (beta), loaded on first use (about 20 and
    10 MB). The OCR model is run on its own session (:func:`lean_session`) with ddddocr's
    preprocessing (height 64, grey, 0..1) and its charset, so that only the wanted characters'
    probabilities are computed, not all 8210 of them at every step."""

    def __init__(self) -> None:
        self._det: Any = None
        self._reader: Any = None
        self._charset: dict[str, int] = {}

    def models(self) -> tuple[Any, Any]:
        """ddddocr's detector and the OCR model's session."""
        if self._det is None:
            import ddddocr
            from ddddocr.charsets import CHARSET_BETA

            self._det = ddddocr.DdddOcr(det=True, show_ad=False)
            self._det.detection_engine.session = lean_session("common_det.onnx")
            self._reader = lean_session("common.onnx")
            self._charset = {c: i for i, c in enumerate(CHARSET_BETA) if c}
        return self._det, self._reader

    def boxes(self, image: bytes) -> list[tuple[int, int, int, int]]:
        det, _ = self.models()
        found = [tuple(int(v) for v in box) for box in det.detection(image)]
        found = [b for b in found if b[2] - b[0] >= 6 and b[3] - b[1] >= 6]
        found.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
        return found[:MAX_BOXES]  # type: ignore[return-value]

    def scores(self, crops: list[Any], targets: list[str]) -> list[list[float]]:
        """For each crop (PIL images), the probability the OCR model gives each target at its
        best position. The crops are read in one pass, side by side on a strip (one model
        call instead of one per crop); each crop owns the model's steps over its part."""
        import numpy as np
        from PIL import Image

        _, reader = self.models()
        height, gap = 64, 8
        widths = [max(8, round(c.size[0] * height / max(1, c.size[1]))) for c in crops]
        strip = Image.new("RGB", (sum(widths) + gap * (len(crops) + 1), height), (255, 255, 255))
        spans, x = [], gap
        for crop, width in zip(crops, widths, strict=True):
            strip.paste(crop.resize((width, height), Image.LANCZOS), (x, 0))
            spans.append((x, x + width))
            x += width + gap
        pixels = np.asarray(strip.convert("L"), dtype=np.float32)[None, None] / 255.0
        logits = reader.run(None, {reader.get_inputs()[0].name: pixels})[0]
        logits = logits.reshape(-1, logits.shape[-1])  # (steps, charset)
        top = logits.max(axis=1, keepdims=True)
        norm = top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        columns = [self._charset.get(t) for t in targets]
        wanted = np.stack(
            [np.exp(logits[:, c] - norm[:, 0]) if c is not None else np.zeros(len(logits))
             for c in columns], axis=1,
        )  # fmt: skip
        per_step = strip.size[0] / len(logits)
        table = []
        for left, right in spans:
            first = int(left / per_step)
            last = max(first + 1, int(np.ceil(right / per_step)))
            table.append([float(v) for v in wanted[first:last].max(axis=0)])
        return table

    def locate(self, image: bytes, targets: list[str]) -> list[tuple[float, float]] | None:
        """The centre of each target's box, in order; None when there are fewer boxes than
        targets."""
        from PIL import Image

        if not targets:
            return None
        picture = Image.open(io.BytesIO(image)).convert("RGB")
        boxes = self.boxes(image)
        if len(boxes) < len(targets):
            return None
        pad = 2
        crops = [
            picture.crop((max(0, left - pad), max(0, top - pad), right + pad, bottom + pad))
            for left, top, right, bottom in boxes
        ]
        chosen = best_assignment(self.scores(crops, targets), len(targets))
        return [((boxes[b][0] + boxes[b][2]) / 2, (boxes[b][1] + boxes[b][3]) / 2) for b in chosen]


def lean_session(filename: str) -> Any:
    """An onnxruntime session on one of ddddocr's model files, with one thread that does not
    spin while it waits.

    ddddocr builds its sessions with onnxruntime's defaults, a thread per core spinning between
    tasks; on a machine shared with other work that costs more than it gains (a click captcha
    measured 0.84 s with them, 0.21 s with one thread, under a load of 10 on 2 cores). ddddocr
    has no option for it, so its detector's public ``session`` is replaced by this one
    (ddddocr 1.6); tests/crawler/captcha pins it.
    """
    import os

    import ddddocr
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = os.path.join(os.path.dirname(ddddocr.__file__), filename)
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def best_assignment(table: list[list[float]], wanted: int) -> tuple[int, ...]:
    """For ``table[box][target]`` scores, distinct boxes for targets 0..wanted-1 with the
    highest total score.

    >>> best_assignment([[0.9, 0.8], [0.95, 0.1], [0.0, 0.2]], 2)
    (1, 0)
    """
    best: tuple[int, ...] = ()
    best_score = -1.0
    for boxes in itertools.permutations(range(len(table)), wanted):
        score = sum(table[b][t] for t, b in enumerate(boxes))
        if score > best_score:
            best, best_score = boxes, score
    return best
