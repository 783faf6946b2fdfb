"""The sample site's notices: government-style notices whose pages link their attachments.

- ``/notices/``: the list, an ``a.notice`` link per notice;
- ``/notices/{id}.html``: a notice, ``h1`` its title, ``time.published`` (``datetime``), and its
  attachments as ``a.attachment`` links (relative URLs);
- ``/notices/files/{name}``: the attachments, made in memory the first time one is asked for
  (a PDF by hand, a DOCX with python-docx, an XLSX with openpyxl; all small):

  ============================ ===================================================
  ``tender-2024-01.pdf``       a PDF; its text holds :data:`PDF_TEXT`
  ``budget-2024.xlsx``         an XLSX; its cells hold :data:`XLSX_TEXT`
  ``download/spec``            a DOCX with :data:`DOCX_TEXT`, named only by its
                               Content-Disposition (``规格说明.docx``)
  ``guidelines.pdf``           a PDF linked from notices 2 and 3 (one file, two items)
  ``guidelines-copy.pdf``      the same bytes at another URL (one stored file)
  ``archive-2023.pdf``         200 MB, streamed in 1 MB chunks, no Content-Length
  ``figures.xlsx``             a zip bomb: 50 MB of zeros deflated into ~50 KB
  ``report.pdf``               an HTML page served as application/pdf
  ``withdrawn.pdf``            404 (linked, never there)
  ============================ ===================================================

  Notice 7 links an ``ftp:`` URL too (no file is fetched but over http(s)), and a file on
  another host (``files.elsewhere.test``: not the rule's, never requested).

:data:`REFUSED` names the files a crawl refuses with their reasons, :data:`FAILED` those that
fail; :func:`sha256_of` the hash of a file a crawl keeps.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from functools import lru_cache
from html import escape

from aiohttp import web

HTML = {"Content-Type": "text/html; charset=utf-8"}
PDF_TEXT = "Road resurfacing tender 2024"
GUIDE_TEXT = "Guidelines for bidders"
XLSX_TEXT = "Budget line"
DOCX_TEXT = "Technical specification of the works"
BIG_BYTES = 200 * 1024 * 1024
BOMB_BYTES = 50 * 1024 * 1024

NOTICES: tuple[tuple[int, str, str, tuple[str, ...]], ...] = (
    (1, "Road resurfacing tender", "2024-03-01", ("files/tender-2024-01.pdf", "download/spec")),
    (2, "Budget 2024", "2024-03-05", ("files/budget-2024.xlsx", "files/guidelines.pdf")),
    (3, "Bidders' guidelines", "2024-03-09", ("files/guidelines.pdf",)),
    (4, "Guidelines, mirrored", "2024-03-10", ("files/guidelines-copy.pdf",)),
    (5, "Archive of 2023", "2024-03-12", ("files/archive-2023.pdf",)),
    (6, "Figures and report", "2024-03-15", ("files/figures.xlsx", "files/report.pdf")),
    (
        7,
        "Withdrawn notice",
        "2024-03-20",
        ("files/withdrawn.pdf", "ftp://127.0.0.1/old.pdf", "http://files.elsewhere.test/a.pdf"),
    ),
)
REFUSED = {
    "archive-2023.pdf": "too_large",
    "figures.xlsx": "bomb",
    "report.pdf": "type_mismatch",
    "old.pdf": "scheme",  # an ftp: link
}
# a link to no file; a file on a host that is not the rule's (never requested)
FAILED = {"withdrawn.pdf": "http_404", "a.pdf": "offsite"}


def pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (Helvetica), written by hand: header, four objects,
    cross-reference table, trailer."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def docx(text: str) -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("Specification", level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx(text: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Budget"
    sheet.append(["Item", "Amount"])
    sheet.append([text, 125000])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def bomb() -> bytes:
    """An XLSX-looking zip whose one sheet inflates to :data:`BOMB_BYTES` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", "<workbook/>")
        chunk = bytes(1024 * 1024)
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(BOMB_BYTES // len(chunk)):
                member.write(chunk)
    return out.getvalue()


@lru_cache(maxsize=1)
def files() -> dict[str, tuple[bytes, str]]:
    """Every small attachment by its path under /notices/: (bytes, Content-Type)."""
    guide = pdf(GUIDE_TEXT)
    return {
        "files/tender-2024-01.pdf": (pdf(PDF_TEXT), "application/pdf"),
        "files/budget-2024.xlsx": (xlsx(XLSX_TEXT), "application/octet-stream"),
        "download/spec": (docx(DOCX_TEXT), "application/octet-stream"),
        "files/guidelines.pdf": (guide, "application/pdf"),
        "files/guidelines-copy.pdf": (guide, "application/pdf"),
        "files/figures.xlsx": (bomb(), "application/vnd.ms-excel"),
        "files/report.pdf": (
            b"<!DOCTYPE html><html><body><h1>Report moved</h1></body></html>",
            "application/pdf",
        ),
    }


def sha256_of(path: str) -> str:
    return hashlib.sha256(files()[path][0]).hexdigest()


def _page(title: str, body: str) -> web.Response:
    html = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body>{body}</body></html>"
    )
    return web.Response(body=html.encode(), headers=HTML)


async def notice_list(request: web.Request) -> web.Response:
    links = "".join(
        f'<li><a class="notice" href="/notices/{n}.html">{escape(title)}</a></li>'
        for n, title, _, _ in NOTICES
    )
    return _page("Notices", f"<h1>Notices</h1><ul>{links}</ul>")


async def notice(request: web.Request) -> web.Response:
    number = request.match_info["id"]
    found = [n for n in NOTICES if str(n[0]) == number]
    if not found:
        raise web.HTTPNotFound()
    _, title, date, attachments = found[0]
    links = "".join(
        f'<li><a class="attachment" href="{path}">{escape(path.rpartition("/")[2])}</a></li>'
        for path in attachments
    )
    body = (
        f"<h1>{escape(title)}</h1><time class='published' datetime='{date}'>{date}</time>"
        f"<p>See the attachments.</p><ul>{links}</ul>"
    )
    return _page(title, body)


async def attachment(request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    if path == "files/archive-2023.pdf":
        return await _big(request)
    found = files().get(path)
    if found is None:
        raise web.HTTPNotFound()
    data, content_type = found
    headers = {"Content-Type": content_type}
    if path == "download/spec":
        headers["Content-Disposition"] = (
            "attachment; filename=\"spec.docx\"; filename*=UTF-8''%E8%A7%84%E6%A0%BC%E8%AF%B4%E6%98%8E.docx"
        )
    return web.Response(body=data, headers=headers)


async def _big(request: web.Request) -> web.StreamResponse:
    """:data:`BIG_BYTES` of a PDF, streamed (chunked, no Content-Length): never in memory."""
    response = web.StreamResponse(headers={"Content-Type": "application/pdf"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b"%PDF-1.4\n" + bytes(1024 * 1024 - 9)
    zeros = bytes(1024 * 1024)
    try:
        for number in range(BIG_BYTES // len(zeros)):
            await response.write(chunk if number == 0 else zeros)
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):  # the client cut it off: as it should
        pass
    return response


ROUTES: tuple[tuple[str, str, object], ...] = (
    ("GET", "/notices/", notice_list),
    ("GET", r"/notices/{id:\d+}.html", notice),
    ("GET", "/notices/{path:(files/[a-z0-9.-]+|download/spec)}", attachment),
)
