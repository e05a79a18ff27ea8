"""Photos users send in the chat: checked by content and size, stored outside
any web root under random names, and recorded in the ``uploads`` table."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, Optional

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from bot.accounts.checks import InvalidInput
from bot.accounts.models import Upload

_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
_KNOWN_OTHERS = {
    b"%PDF": "PDF 文档",
    b"PK\x03\x04": "压缩包或 Office 文档",
    b"GIF8": "GIF 动图",
    b"RIFF": "WebP 或音视频文件",
    b"\xd0\xcf\x11\xe0": "Word/Excel 文档",
}
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}
PHOTO_FORMATS = "jpg、jpeg 或 png"  # what _SIGNATURES accepts, as users are told
MEGABYTE = 1048576
# The one refusal of a photo over MAX_UPLOAD_BYTES, wherever it is found too
# large: here, by the Telegram channel (before downloading) and by the widget's
# script (before uploading; it gets the text from the server, ``{size}`` left).
PHOTO_TOO_LARGE = "照片太大：{size} MB，最大 {limit} MB。请压缩后重新选择。"
EMPTY_FILE = "收到的文件是空的，请重新选择照片上传。"
NOT_A_PHOTO = "这个文件不是照片，"


def megabytes(size: int) -> str:
    """A size in MB as users read it: whole MB as a whole number (1048576 -> "1"),
    others with one decimal (1572864 -> "1.5", a byte over 5 MB -> "5.0"); the
    widget's script writes sizes the same way (``formatMB``)."""
    value = size / MEGABYTE
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def photo_too_large(size: int, limit: int) -> str:
    """The refusal of a photo of ``size`` bytes over the ``limit``."""
    return photo_too_large_template(limit).replace("{size}", megabytes(size))


def photo_too_large_template(limit: int) -> str:
    """The refusal with the limit filled in and ``{size}`` left (for the widget's script)."""
    return PHOTO_TOO_LARGE.replace("{limit}", megabytes(limit))


def upload_refusals(limit: int) -> Dict[str, str]:
    """The refusals the widget's script shows before uploading (``too_large`` with
    ``{size}`` left for the file's size), the same words as the server's."""
    return {"too_large": photo_too_large_template(limit), "empty": EMPTY_FILE, "not_a_photo": not_a_photo()}


def not_a_photo(other: Optional[str] = None) -> str:
    """The refusal of a file that is no jpg or png (``other``: what it is, when known)."""
    what = f"这个文件实际上是{other}，" if other else NOT_A_PHOTO
    return what + f"只能上传 {PHOTO_FORMATS} 格式的证件照片（改文件后缀名没有用）。"


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    data: bytes


def check_image(data: bytes, max_bytes: int) -> CheckedImage:
    """jpg/jpeg/png by content (whatever the file name says), at most ``max_bytes``."""
    if not data:
        raise InvalidInput(EMPTY_FILE)
    if len(data) > max_bytes:
        raise InvalidInput(photo_too_large(len(data), max_bytes))
    content_type = next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), None)
    if content_type is None:
        other = next((kind for magic, kind in _KNOWN_OTHERS.items() if data.startswith(magic)), None)
        raise InvalidInput(not_a_photo(other))
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        # verify() reads no JPEG scan data, so a cut-off JPEG passes it: decode
        # it (at 1/8 scale, cheap) to find the missing end.  (PNG's verify()
        # already checks every chunk's CRC and the end chunk.)
        if content_type == "image/jpeg":
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput("这张照片已损坏或不完整，无法打开，请重新拍照上传。") from None
    return CheckedImage(content_type, data)


class UploadStore:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def save(
        self, session: Session, sender_id: str, data: bytes, original_name: Optional[str], now: datetime
    ) -> Upload:
        """Checks and stores the photo; on any failure no file and no row remain."""
        image = check_image(data, self.max_bytes)
        self.directory.mkdir(parents=True, exist_ok=True)
        upload_id = secrets.token_hex(16)
        stored_name = upload_id + _EXTENSIONS[image.content_type]
        target = self.directory / stored_name
        partial = target.with_suffix(".part")
        partial.write_bytes(image.data)
        try:
            os.chmod(partial, 0o600)
            upload = Upload(
                id=upload_id,
                sender_id=sender_id,
                stored_name=stored_name,
                original_name=(original_name or "")[:255],
                content_type=image.content_type,
                size=len(image.data),
                sha256=hashlib.sha256(image.data).hexdigest(),
                created_at=now,
            )
            session.add(upload)
            session.flush()
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return upload

    def path_of(self, upload: Upload) -> Path:
        return self.directory / upload.stored_name
