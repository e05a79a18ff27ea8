"""The console's answers, each with the security headers: a strict
Content-Security-Policy (only the console's own files: no inline script or
style, no other hosts, no framing, forms post only to the console),
``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``,
``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff``.  The
static files (``static/``) are served with ``nosniff`` and ``no-cache``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Sequence

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "console.js": (STATIC_DIR / "console.js", "application/javascript; charset=utf-8"),
    "console.css": (STATIC_DIR / "console.css", "text/css; charset=utf-8"),
}


def html_page(document: str, status: int = 200) -> HTTPResponse:
    return response.html(document, status=status, headers=dict(SECURITY_HEADERS))


def json_reply(data: Any, status: int = 200) -> HTTPResponse:
    return response.json(data, status=status, headers=dict(SECURITY_HEADERS), ensure_ascii=False)


def image_reply(data: bytes) -> HTTPResponse:
    """A JPEG the console made (a photo's masked thumbnail): never cached, never sniffed."""
    return response.raw(data, content_type="image/jpeg", headers=dict(SECURITY_HEADERS))


def csv_reply(rows: Sequence[Sequence[Any]], filename: str) -> HTTPResponse:
    """A CSV download (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese
    words right); a text cell starting with = + - @ is prefixed with ' (no formulas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response.raw(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8", headers=headers
    )


def _csv_cell(cell: Any) -> Any:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@"):
        return "'" + cell
    return cell


def see_other(path: str) -> HTTPResponse:
    return response.redirect(path, status=303, headers=dict(SECURITY_HEADERS))


def wants_json(request: Request) -> bool:
    """The page script's requests ask for JSON; forms get pages and redirects."""
    return "application/json" in (request.headers.get("accept") or "")


async def static_file(name: str) -> HTTPResponse:
    """One of :data:`STATIC_FILES`; any other name: 404."""
    if name not in STATIC_FILES:
        return response.text("not found", status=404, headers={"X-Content-Type-Options": "nosniff"})
    path, content_type = STATIC_FILES[name]
    return await response.file(
        path, mime_type=content_type, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    )
