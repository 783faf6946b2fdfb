"""Files API: the files crawls kept (crawler/files; docs/files.md), by their SHA-256.

``GET /api/files/{sha256}`` answers the file from the project's file store (``FILES_STORE``),
read as items are (:func:`~crawler.service.access.read_access`): open on loopback while nobody
signs in, a viewer otherwise. The id is 64 lowercase hex digits or the answer is a 400, so no
path is ever made from what a caller sends; the store finds the file by its hash alone. The
answer is a download, never a page: ``Content-Disposition: attachment`` (``?name=`` the file's
name, sanitised, its extension the file's own type), the content type of its sniffed type,
``X-Content-Type-Options: nosniff`` and a sandboxing policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from crawler.files import (
    CONTENT_TYPES,
    TYPE_OF_EXTENSION,
    FileStore,
    file_store_from_settings,
    is_sha,
    sanitise_name,
)
from crawler.service.access import read_access
from crawler.service.gate import GatedRoute

router = APIRouter(prefix="/api", tags=["files"], route_class=GatedRoute)
READ = [Depends(read_access)]
CHUNK = 256 * 1024


def file_store(request: Request) -> FileStore:
    """The project's file store, opened on first use."""
    state = request.app.state
    store = getattr(state, "file_store", None)
    if store is None:
        try:
            store = state.file_store = file_store_from_settings(state.settings)
        except ValueError as exc:
            raise HTTPException(503, f"no file store: {exc}") from None
    return store


def download_name(name: str | None, sha: str, ext: str) -> str:
    """The name a download is saved under: ``name`` sanitised, ending in the file's own
    extension (a file is what its content is, whatever a link called it)."""
    chosen = sanitise_name(name or "", fallback=sha)
    if chosen.rpartition(".")[2].lower() not in (ext, "jpeg" if ext == "jpg" else ext):
        chosen = f"{chosen}.{ext}"
    return chosen


def disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _chunks(handle: Any) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


@router.get("/files/{sha}", dependencies=READ)
async def get_file(
    request: Request,
    sha: str,
    name: str | None = Query(None, max_length=300, description="the name to save it under"),
) -> StreamingResponse:
    """The file whose SHA-256 is ``sha``, as a download."""
    if not is_sha(sha):
        raise HTTPException(400, "a file is named by its SHA-256: 64 lowercase hex digits")
    store = file_store(request)
    path = await run_in_threadpool(store.find, sha)
    if path is None:
        raise HTTPException(404, "no such file in the file store")
    ext = path.rpartition(".")[2]
    kind = TYPE_OF_EXTENSION.get(ext)
    if kind is None:
        raise HTTPException(404, "no such file in the file store")
    handle = await run_in_threadpool(store.open, path)
    headers = {
        "content-disposition": disposition(download_name(name, sha, ext)),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, max-age=3600",
    }
    size = getattr(store, "size", None)
    if size is not None:
        headers["content-length"] = str(await run_in_threadpool(size, path))
    return StreamingResponse(_chunks(handle), media_type=CONTENT_TYPES[kind], headers=headers)
