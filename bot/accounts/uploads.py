"""Photos users send in the chat: checked by content, size and pixel count,
cleaned of their metadata, stored outside any web root under random names,
recorded in the ``uploads`` table, rationed, and deleted when nothing uses them.

* :func:`check_image` accepts jpg/jpeg/png by content, at most ``max_bytes``
  and :func:`max_photo_pixels` pixels (a decompression bomb is refused from
  its header, before a pixel is decoded), and returns the photo re-encoded:
  the EXIF orientation applied to the pixels, and EXIF (GPS, camera, time),
  XMP, comments, text chunks and anything appended after the image dropped.
* :func:`masked_thumbnail` is what an agent sees of a photo: at most
  :data:`THUMBNAIL_PIXELS` on its longer side and blurred, so that the kind of
  document and whether it is readable show, and its numbers and face do not.
* :class:`UploadStore` refuses a photo over the quotas (:class:`UploadQuota`:
  per conversation and for everyone together, within :data:`QUOTA_WINDOW`)
  before looking at it, and :meth:`UploadStore.purge_unattached` deletes the
  rows of photos that no review or appeal uses ``keep_unattached`` after
  their upload (the caller deletes their files once the rows are gone).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from PIL import Image, ImageFilter, ImageOps, JpegImagePlugin, UnidentifiedImageError
from sqlalchemy import delete, func, select, union
from sqlalchemy.orm import Session

from bot import config
from bot.accounts.checks import InvalidInput, worded
from bot.accounts.models import Appeal, ManualReview, Upload
from bot.language import DEFAULT_LANGUAGE, tr

_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
# Files that are no photo but often sent as one: what they are, by catalogue key.
_KNOWN_OTHERS = {
    b"%PDF": "uploads.kind_pdf",
    b"PK\x03\x04": "uploads.kind_zip",
    b"GIF8": "uploads.kind_gif",
    b"RIFF": "uploads.kind_riff",
    b"\xd0\xcf\x11\xe0": "uploads.kind_office",
}
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}
MEGABYTE = 1048576


def photo_formats(language: str) -> str:
    """What _SIGNATURES accepts, as users of ``language`` are told ("jpg、jpeg 或 png")."""
    return tr("uploads.photo_formats", language)


PHOTO_FORMATS = photo_formats(DEFAULT_LANGUAGE)
# The one refusal of a photo over MAX_UPLOAD_BYTES (uploads.too_large), wherever it is found
# too large: here, by the Telegram channel (before downloading) and by the widget's script
# (before uploading; it gets the text from the server, ``{size}`` left).
SIZE_FIELD = "{size}"
EMPTY_FILE = tr("uploads.empty", DEFAULT_LANGUAGE)
# How a pixel count is said: Chinese counts in 万 (ten thousands), English in millions.
PIXEL_COUNTS: Dict[str, Callable[[int], str]] = {
    "zh": lambda pixels: f"{pixels // 10000} 万",
    "en": lambda pixels: f"{pixels / 1_000_000:g} million",
}


def megabytes(size: int) -> str:
    """A size in MB as users read it: whole MB as a whole number (1048576 -> "1"),
    others with one decimal (1572864 -> "1.5", a byte over 5 MB -> "5.0"); the
    widget's script writes sizes the same way (``formatMB``)."""
    value = size / MEGABYTE
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def photo_too_large(size: int, limit: int, language: str = DEFAULT_LANGUAGE) -> str:
    """The refusal of a photo of ``size`` bytes over the ``limit``."""
    return photo_too_large_template(limit, language).replace(SIZE_FIELD, megabytes(size))


def photo_too_large_template(limit: int, language: str = DEFAULT_LANGUAGE) -> str:
    """The refusal with the limit filled in and ``{size}`` left (for the widget's script)."""
    return tr("uploads.too_large", language, size=SIZE_FIELD, limit=megabytes(limit))


def upload_refusals(limit: int, language: str = DEFAULT_LANGUAGE) -> Dict[str, str]:
    """The refusals the widget's script shows before uploading (``too_large`` with
    ``{size}`` left for the file's size), the same words as the server's."""
    return {
        "too_large": photo_too_large_template(limit, language),
        "empty": tr("uploads.empty", language),
        "not_a_photo": not_a_photo(language=language),
    }


def not_a_photo(other: Optional[str] = None, language: str = DEFAULT_LANGUAGE) -> str:
    """The refusal of a file that is no jpg or png (``other``: the catalogue key of what it is, when known)."""
    return _not_a_photo(other).text(language)


def _not_a_photo(other: Optional[str]) -> InvalidInput:
    if other:
        return InvalidInput.of("uploads.not_a_photo_but", other=worded(other), formats=photo_formats)
    return InvalidInput.of("uploads.not_a_photo", formats=photo_formats)


# A photo worth reading needs at least a third of a bit per pixel even as a
# heavily compressed JPEG, so a file of ``max_bytes`` honestly holds at most
# ``max_bytes * 24`` pixels: 25 million for the platform's 1 MB, above any
# phone photo of that size (12 megapixels).  More is a decompression bomb.
PIXELS_PER_BYTE = 24


def max_photo_pixels(max_bytes: int) -> int:
    return max_bytes * PIXELS_PER_BYTE


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    data: bytes  # re-encoded: orientation applied, no metadata


def check_image(data: bytes, max_bytes: int) -> CheckedImage:
    """jpg/jpeg/png by content (whatever the file name says), at most ``max_bytes``
    and :func:`max_photo_pixels`; returns the photo cleaned (see the module docstring)."""
    if not data:
        raise InvalidInput.of("uploads.empty")
    if len(data) > max_bytes:
        raise InvalidInput.of("uploads.too_large", size=megabytes(len(data)), limit=megabytes(max_bytes))
    content_type = next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), None)
    if content_type is None:
        other = next((kind for magic, kind in _KNOWN_OTHERS.items() if data.startswith(magic)), None)
        raise _not_a_photo(other)
    try:
        # Opening reads the header only: the size is known before any pixel is decoded.
        with Image.open(io.BytesIO(data)) as image:
            _check_pixels(image.width, image.height, max_bytes)
            image.verify()  # PNG: every chunk's CRC and the end chunk
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # every pixel: a cut-off JPEG fails here
            cleaned = _without_metadata(image, content_type)
    except InvalidInput:
        raise  # a ValueError, but not a damaged file: too many pixels
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_bytes) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput.of("uploads.damaged") from None
    return CheckedImage(content_type, cleaned)


def _check_pixels(width: int, height: int, max_bytes: int) -> None:
    if width * height > max_photo_pixels(max_bytes):
        raise _too_many_pixels(max_bytes, worded("uploads.pixel_size", width=width, height=height))


def _too_many_pixels(max_bytes: int, shown: Any = "") -> InvalidInput:
    """``shown``: the photo's size in pixels (a ``Worded``), when known."""
    pixels = max_photo_pixels(max_bytes)
    return InvalidInput.of(
        "uploads.too_many_pixels", shown=shown, limit=lambda language: PIXEL_COUNTS[language](pixels)
    )


def _without_metadata(image: Image.Image, content_type: str) -> bytes:
    """The pixels only, upright: EXIF's orientation applied (the tag goes with
    the rest of EXIF); the colour profile is kept, it changes how colours show."""
    upright = ImageOps.exif_transpose(image) or image
    icc_profile = image.info.get("icc_profile")
    options: Dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if content_type == "image/jpeg":
        # The photo's own quantisation tables and chroma subsampling: the same
        # quality and about the same size as the file the user sent.
        options["qtables"] = getattr(image, "quantization", None) or None
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling >= 0:
            options["subsampling"] = sampling
    buffer = io.BytesIO()
    upright.save(buffer, "JPEG" if content_type == "image/jpeg" else "PNG", **options)
    return buffer.getvalue()


THUMBNAIL_PIXELS = 160  # the longer side of the thumbnail agents see
THUMBNAIL_BLUR = 2.0  # Gaussian radius, in thumbnail pixels: a document's characters become a blur


def masked_thumbnail(data: bytes) -> bytes:
    """A small blurred JPEG of a stored photo (see the module docstring); ValueError
    when ``data`` is no image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMBNAIL_PIXELS * 2, THUMBNAIL_PIXELS * 2))  # JPEG: decode small
            small = image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError("not an image") from error
    small.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    blurred = small.filter(ImageFilter.GaussianBlur(THUMBNAIL_BLUR))
    buffer = io.BytesIO()
    blurred.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


# Both quotas count the uploads of the last hour.
QUOTA_WINDOW = timedelta(hours=1)


def _window_hours() -> int:
    return int(QUOTA_WINDOW.total_seconds() // 3600)


@dataclass(frozen=True)
class UploadQuota:
    """How many photos one conversation, and how many bytes everyone together,
    may upload within :data:`QUOTA_WINDOW`."""

    per_conversation: int
    bytes_for_everyone: int

    @classmethod
    def from_config(cls) -> "UploadQuota":
        return cls(config.get_int("UPLOADS_PER_CONVERSATION_PER_HOUR"), config.get_int("UPLOAD_BYTES_PER_HOUR"))


def _minutes_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds() / 60))


class UploadStore:
    """``quota`` and ``keep_unattached`` default to their settings."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        quota: Optional[UploadQuota] = None,
        keep_unattached: Optional[timedelta] = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.quota = quota or UploadQuota.from_config()
        self.keep_unattached = keep_unattached or timedelta(hours=config.get_int("UPLOAD_UNATTACHED_HOURS"))

    @classmethod
    def from_config(cls) -> "UploadStore":
        return cls(config.project_path("UPLOAD_DIR"), config.get_int("MAX_UPLOAD_BYTES"))

    def check_quota(self, session: Session, sender_id: str, size: int, now: datetime) -> None:
        """Refuses (``InvalidInput``, saying how long to wait) an upload over a quota."""
        since = now - QUOTA_WINDOW
        count, first = session.execute(
            select(func.count(Upload.id), func.min(Upload.created_at)).where(
                Upload.sender_id == sender_id, Upload.created_at > since
            )
        ).one()
        if count >= self.quota.per_conversation:
            raise InvalidInput.of(
                "uploads.quota_conversation",
                hours=_window_hours(),
                count=count,
                limit=self.quota.per_conversation,
                minutes=_minutes_until(first + QUOTA_WINDOW, now),
            )
        total, first = session.execute(
            select(func.coalesce(func.sum(Upload.size), 0), func.min(Upload.created_at)).where(
                Upload.created_at > since
            )
        ).one()
        if total + size > self.quota.bytes_for_everyone:
            wait = _minutes_until(first + QUOTA_WINDOW, now) if first else _minutes_until(now + QUOTA_WINDOW, now)
            raise InvalidInput.of("uploads.quota_everyone", minutes=wait)

    def save(
        self, session: Session, sender_id: str, data: bytes, original_name: Optional[str], now: datetime
    ) -> Upload:
        """Checks, cleans and stores the photo; on any failure no file and no row remain."""
        self.check_quota(session, sender_id, len(data), now)
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

    def purge_unattached(self, session: Session, now: datetime) -> List[Path]:
        """Deletes the rows of uploads older than ``keep_unattached`` that no
        review or appeal uses; returns their files, for the caller to delete
        once the rows are gone (a file without a row is never served)."""
        used = union(
            select(Appeal.front_upload_id),
            select(Appeal.back_upload_id),
            select(ManualReview.front_upload_id),
            select(ManualReview.back_upload_id),
        )
        expired = select(Upload).where(Upload.created_at < now - self.keep_unattached, Upload.id.not_in(used))
        uploads = list(session.scalars(expired))
        if uploads:
            session.execute(
                delete(Upload)
                .where(Upload.id.in_([upload.id for upload in uploads]))
                .execution_options(synchronize_session=False)
            )
        return [self.path_of(upload) for upload in uploads if upload.stored_name]
