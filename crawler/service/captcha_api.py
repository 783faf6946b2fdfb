"""Captchas API (``/api/captchas``): the captchas no solver could read, waiting for a person
(the manual solver's pending store, ``CAPTCHA_MANUAL_DIR``; crawler/captcha), answered from
the dashboard as ``scrapy captcha answer`` answers them.

- ``GET /api/captchas`` (read access): the pending captchas, newest first, at most
  :data:`LIST_MAX`: id, rule, page URL (credentials masked), when, kind (``text``, ``click``,
  ``slider``), prompt, age, the image's size and the names of its extra images;
- ``GET /api/captchas/{id}/image`` and ``/image/{name}`` (read access): the image, or an extra
  one (a slider's piece), as the image type its bytes are (PNG, JPEG, GIF, WebP; anything else
  is a 415), ``nosniff``, at most :data:`IMAGE_MAX` bytes;
- ``POST /api/captchas/{id}/answer`` (editor): ``{"answer": ...}``, checked against the
  captcha's kind and its image's size by the store (:func:`crawler.captcha.answer_problem`, the
  command line's check too): a 422 names what is wrong; a captcha unknown or answered already
  is a 404. The answer is logged without its text (who, which captcha).

Ids are 16 lowercase hex digits and names :data:`NAME`, or the answer is a 400: no path is
made from anything else a caller sends.

>>> image_size(bytes.fromhex("89504e470d0a1a0a0000000d49484452000000640000002808060000"))
(100, 40)
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crawler import files
from crawler.captcha import CaptchaStore
from crawler.service.access import Editor, read_access
from crawler.service.gate import GatedRoute
from vocab import mask_url

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/captchas", tags=["captchas"], route_class=GatedRoute)
READ = [Depends(read_access)]
LIST_MAX = 100  # captchas listed
IMAGE_MAX = 2 * 1024 * 1024  # bytes of an image served
URL_MAX = 2000  # characters of a page URL listed
KINDS = ("text", "click", "slider")
IMAGE_TYPES = ("png", "jpeg", "gif", "webp")
ID = re.compile(r"^[0-9a-f]{16}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")  # as the store names them
_answering = threading.Lock()  # one answer at a time: a captcha is answered once


class AnswerRequest(BaseModel):
    answer: str = Field(min_length=1, max_length=400)


def store_of(request: Request) -> CaptchaStore:
    """The deployment's pending captchas (``CAPTCHA_MANUAL_DIR``)."""
    return CaptchaStore(request.app.state.settings.get("CAPTCHA_MANUAL_DIR"))


def checked_id(cid: str) -> str:
    if not ID.match(cid):
        raise HTTPException(400, "a captcha is named by its id: 16 lowercase hex digits")
    return cid


def pending_one(store: CaptchaStore, cid: str) -> Any:
    """The pending captcha ``cid``; 404 when there is none (never was, answered, given up)."""
    for captcha in store.pending() if store.directory.is_dir() else ():
        if captcha.id == cid:
            return captcha
    raise HTTPException(404, f"no captcha {cid} is waiting for an answer (answered, or gone)")


def kind_of(captcha: Any) -> str:
    kind = getattr(captcha, "kind", "text") or "text"
    return kind if kind in KINDS else "text"


def extra_images(captcha: Any) -> dict[str, Path]:
    """The captcha's extra images by name (a slider's ``piece``), as the store records them."""
    found = getattr(captcha, "extra_images", None)
    named = found.items() if isinstance(found, Mapping) else ()
    return {str(n): Path(p) for n, p in sorted(named) if NAME.match(str(n))}


def image_size(head: bytes) -> tuple[int, int] | None:
    """An image's width and height from its first bytes (PNG, GIF, JPEG, WebP), or None."""
    kind = files.sniff(head[:64])
    if kind == "png" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if kind == "gif" and len(head) >= 10:
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    if kind == "webp":
        return _webp_size(head)
    if kind == "jpeg":
        return _jpeg_size(head)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(head) >= 30:
        return (int.from_bytes(head[26:28], "little") & 0x3FFF,
                int.from_bytes(head[28:30], "little") & 0x3FFF)  # fmt: skip
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(
                data[at + 5 : at + 7], "big"
            )
        at += 2 + length
    return None


def read_head(path: Path, size: int = 64 * 1024) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def describe(captcha: Any, now: float) -> dict[str, Any]:
    size = image_size(read_head(captcha.image))
    return {
        "id": captcha.id,
        "rule": str(captcha.rule)[:200],
        "url": mask_url(str(captcha.url))[:URL_MAX],
        "created": datetime.fromtimestamp(captcha.created, UTC).isoformat(),
        "age": round(max(0.0, now - captcha.created), 1),
        "kind": kind_of(captcha),
        "prompt": str(getattr(captcha, "prompt", "") or "")[:200],
        "width": size[0] if size else None,
        "height": size[1] if size else None,
        "images": list(extra_images(captcha)),
    }


def listing(store: CaptchaStore) -> dict[str, Any]:
    pending = store.pending() if store.directory.is_dir() else []
    newest = sorted(pending, key=lambda c: c.created, reverse=True)
    now = datetime.now(UTC).timestamp()
    return {
        "items": [describe(c, now) for c in newest[:LIST_MAX]],
        "total": len(pending),
        "more": len(pending) > LIST_MAX,
        "now": datetime.fromtimestamp(now, UTC).isoformat(),
    }


@router.get("", dependencies=READ)
async def list_captchas(request: Request) -> dict[str, Any]:
    """The captchas waiting for a person, newest first."""
    return await run_in_threadpool(listing, store_of(request))


def image_answer(path: Path) -> Response:
    try:
        size = path.stat().st_size
    except OSError:
        raise HTTPException(404, "the captcha's image is gone") from None
    if size > IMAGE_MAX:
        raise HTTPException(404, f"the captcha's image is over {IMAGE_MAX:,} bytes: not shown")
    data = path.read_bytes()[:IMAGE_MAX]
    kind = files.sniff(data[:64])
    if kind not in IMAGE_TYPES:
        raise HTTPException(415, "the captcha's image is no PNG, JPEG, GIF or WebP image")
    headers = {
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, max-age=600",  # an id's image never changes
    }
    return Response(data, media_type=files.CONTENT_TYPES[kind], headers=headers)


def find_image(store: CaptchaStore, cid: str, name: str | None) -> Path:
    captcha = pending_one(store, cid)
    if name is None:
        return captcha.image
    path = extra_images(captcha).get(name)
    if path is None:
        raise HTTPException(404, f"captcha {cid} has no image named {name!r}")
    return path


@router.get("/{cid}/image", dependencies=READ, response_class=Response)
async def captcha_image(request: Request, cid: str) -> Response:
    """The captcha's image."""
    path = await run_in_threadpool(find_image, store_of(request), checked_id(cid), None)
    return await run_in_threadpool(image_answer, path)


@router.get("/{cid}/image/{name}", dependencies=READ, response_class=Response)
async def captcha_extra_image(request: Request, cid: str, name: str) -> Response:
    """One of the captcha's extra images (``images`` in the listing), e.g. a slider's piece."""
    if not NAME.match(name):
        raise HTTPException(400, "an image is named by a-z, then up to 30 of a-z, 0-9, '_'")
    path = await run_in_threadpool(find_image, store_of(request), checked_id(cid), name)
    return await run_in_threadpool(image_answer, path)


def give_answer(store: CaptchaStore, cid: str, answer: str) -> Any:
    with _answering:
        captcha = pending_one(store, cid)
        try:
            store.answer(cid, answer, image_size(read_head(captcha.image)))
        except KeyError:
            raise HTTPException(404, f"no captcha {cid} is waiting for an answer") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return captcha


@router.post("/{cid}/answer")
async def answer_captcha(
    request: Request, cid: str, body: AnswerRequest, who: Editor
) -> dict[str, Any]:
    """Answer a pending captcha; the crawl waiting for it goes on."""
    captcha = await run_in_threadpool(give_answer, store_of(request), checked_id(cid), body.answer)
    kind = kind_of(captcha)
    logger.info("captcha %s (%s, rule %s) answered by %s", cid, kind, captcha.rule, who.get("id"))
    return {"answered": cid, "kind": kind}
