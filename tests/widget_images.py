"""Files for the widget's upload tests: real small photos (JPEG and PNG), a
photo too big for the server's 1 MB limit, and a PDF disguised as a JPEG."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Dict

from PIL import Image, ImageDraw

MB = 1024 * 1024


def photo(kind: str = "JPEG", color: str = "#dfe7f2", label: str = "", size=(320, 200)) -> bytes:
    """A small ID-card-like picture, encoded as a real JPEG or PNG."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle([8, 8, size[0] - 9, size[1] - 9], outline="#0b4ea2", width=3)
    draw.rectangle([24, 40, 104, 140], fill="#9fb3cc")
    for row in range(4):
        draw.rectangle([124, 48 + row * 24, size[0] - 30, 58 + row * 24], fill="#7d8fa8")
    if label:
        draw.text((124, 150), label, fill="#0b4ea2")
    buffer = io.BytesIO()
    image.save(buffer, kind, **({"quality": 85} if kind == "JPEG" else {}))
    return buffer.getvalue()


def huge_png(megabytes: float = 5.0) -> bytes:
    """A real PNG of random noise (does not compress), about ``megabytes`` MB."""
    side = int((megabytes * MB / 3) ** 0.5) + 1
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def pdf_document() -> bytes:
    """A (minimal) PDF document: what a user may have renamed to .jpg."""
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def write_test_files(directory: Path) -> Dict[str, Path]:
    """Writes the test files into ``directory``; returns them by role."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "front": ("证件正面.jpg", photo("JPEG", "#f2efe6", "FRONT")),
        "back": ("证件反面.png", photo("PNG", "#e6eef2", "BACK")),
        "huge": ("高清照片.png", huge_png(5.0)),
        "pdf": ("扫描件.jpg", pdf_document()),
    }
    paths = {}
    for role, (name, data) in files.items():
        path = directory / name
        path.write_bytes(data)
        paths[role] = path
    return paths
