"""Error answers of the data service: one line each, echoing no more of the request than a short
excerpt. FastAPI's own answers are replaced where they would say more:

- a request that does not validate (422): each error's type, where it is, its message and an
  excerpt of the value it was about (FastAPI sends the whole input: a posted rule of a megabyte
  came back whole), at most :data:`ERRORS_MAX` errors;
- an ``HTTPException`` whose detail is text: cut at :data:`DETAIL_MAX` characters (a message
  may quote a name or a value from the request);
- a cursor the store did not hand out (:class:`crawler.store.CursorError`, wherever a listing
  lets one escape): a 400 saying so, never a 500.

>>> excerpt("x" * 500)[-3:], excerpt({"yaml": "a" * 10_000})[:20]
('xx…', "{'yaml': 'aaaaaaaaaa")
>>> len(excerpt(list(range(100_000)))) <= EXCERPT + 1
True
"""

from __future__ import annotations

import reprlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from crawler.store import CursorError

EXCERPT = 80  # characters of a value quoted back
DETAIL_MAX = 400  # characters of a message
ERRORS_MAX = 20  # validation errors listed

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = EXCERPT
_repr.maxother = EXCERPT
for _name in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset"):
    setattr(_repr, _name, 4)


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A short text of ``value`` (bounded whatever its size: reprlib never walks all of it)."""
    text = value if isinstance(value, str) else _repr.repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def bounded(detail: Any) -> Any:
    if isinstance(detail, str) and len(detail) > DETAIL_MAX:
        return detail[:DETAIL_MAX] + "…"
    return detail


def _error(error: dict[str, Any]) -> dict[str, Any]:
    where = [p if isinstance(p, int) else excerpt(str(p), 40) for p in error.get("loc", ())[:8]]
    out = {
        "type": str(error.get("type", ""))[:60],
        "loc": where,
        "msg": excerpt(str(error.get("msg", "")), 200),
    }
    if "input" in error:
        out["input"] = excerpt(error["input"])
    return out


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = [_error(e) for e in errors[:ERRORS_MAX]]
    if len(errors) > ERRORS_MAX:
        detail.append({"type": "more", "loc": [], "msg": f"and {len(errors) - ERRORS_MAX} more"})
    return JSONResponse({"detail": detail}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    exc.detail = bounded(exc.detail)
    return await http_exception_handler(request, exc)


async def cursor_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": cursor_message(exc)}, status_code=400)


def cursor_message(exc: Exception) -> str:
    return f"{exc}: use the 'next' of the page before, or leave the cursor out to start again"


def install(app: FastAPI) -> None:
    """The service's error answers, in place of FastAPI's."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(CursorError, cursor_error)
