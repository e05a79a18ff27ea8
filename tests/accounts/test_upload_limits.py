"""Bounded uploads (issue 12, item 4; docs/security.md section 9), with real
generated images, on SQLite and PostgreSQL: decompression bombs refused from
their header, EXIF (GPS and all) stripped with the orientation applied, the
per-conversation and global quotas, and unattached photos deleted after
UPLOAD_UNATTACHED_HOURS, by the service and by ``python -m bot uploads purge``."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image, PngImagePlugin

from bot import config
from bot.__main__ import main
from bot.accounts.checks import InvalidInput
from bot.accounts.models import AccountKind, RealnameState
from bot.accounts.service import AccountService, AppealDraft
from bot.accounts.sms import SmsGateway
from bot.accounts.uploads import UploadQuota, UploadStore, max_photo_pixels
from bot.store import utcnow
from tests.accounts.factories import add_account, photo, rows

SENDER = "widget:" + "a" * 32
MB = 1024 * 1024
GPS_IFD, ORIENTATION, MAKE = 0x8825, 0x0112, 0x010F


def stored_files(service):
    directory = service.uploads.directory
    return sorted(path for path in directory.iterdir()) if directory.exists() else []


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# -- decompression bombs -----------------------------------------------------------------

def test_the_pixel_limit_follows_from_the_size_limit():
    assert max_photo_pixels(MB) == 24 * MB  # 25 megapixels for the platform's 1 MB
    assert max_photo_pixels(MB) > 4000 * 3000  # a 12-megapixel phone photo fits


def test_a_huge_pixel_png_is_refused_with_its_size_before_decoding(service, database):
    bomb = encoded(Image.new("1", (10000, 10000)), "PNG")  # 100 megapixels of white
    assert len(bomb) < MB  # small enough to pass the size check
    with pytest.raises(InvalidInput, match="尺寸太大") as refusal:
        service.save_upload(SENDER, bomb, "front.png")
    assert "10000×10000" in str(refusal.value) and "2516 万像素" in str(refusal.value)
    assert stored_files(service) == [] and rows(database, "uploads") == []


def test_a_photo_of_many_but_allowed_pixels_is_accepted(service):
    image = Image.new("RGB", (4000, 3000), "#dfe7f2")  # a 12-megapixel phone photo
    upload = service.save_upload(SENDER, encoded(image, "JPEG", quality=80), "front.jpg")
    with Image.open(service.uploads.path_of(upload)) as stored:
        assert stored.size == (4000, 3000)


# -- metadata -------------------------------------------------------------------------------

def two_colour_picture() -> Image.Image:
    """400 x 200: the left half red, the right half blue."""
    image = Image.new("RGB", (400, 200), (220, 20, 20))
    image.paste((20, 20, 220), (200, 0, 400, 200))
    return image


def camera_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)})
    return exif


def test_the_sent_photo_really_carries_gps_and_orientation():
    with Image.open(io.BytesIO(encoded(two_colour_picture(), "JPEG", exif=camera_exif(6)))) as sent:
        exif = sent.getexif()
        assert exif[ORIENTATION] == 6 and exif.get_ifd(GPS_IFD)[1] == "N"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_is_stripped_and_the_orientation_applied(service, fmt):
    data = encoded(two_colour_picture(), fmt, exif=camera_exif(6), **(
        {"quality": 95} if fmt == "JPEG" else {"pnginfo": _png_text("GPS 39.9,116.4")}))
    upload = service.save_upload(SENDER, data, "front." + fmt.lower())
    stored_bytes = service.uploads.path_of(upload).read_bytes()
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert not stored.getexif() and "exif" not in stored.info
        assert not getattr(stored, "text", {})
        # Orientation 6: shown turned 90 degrees clockwise, so the left (red) half is on top.
        assert stored.size == (200, 400)
        rgb = stored.convert("RGB")
        top, bottom = rgb.getpixel((100, 100)), rgb.getpixel((100, 300))
    assert top[0] > 180 and top[2] < 70, top
    assert bottom[2] > 180 and bottom[0] < 70, bottom
    for trace in (b"PhoneMaker", b"Exif", b"GPS"):
        assert trace not in stored_bytes


def _png_text(text: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    return info


# -- quotas -----------------------------------------------------------------------------------

def limited(database, clock, tmp_path, per_conversation=3, bytes_for_everyone=100 * MB) -> AccountService:
    store = UploadStore(tmp_path / "limited", MB, quota=UploadQuota(per_conversation, bytes_for_everyone))
    return AccountService(database, sms=SmsGateway(), uploads=store, clock=clock)


def test_one_conversation_may_upload_so_many_photos_an_hour(database, clock, tmp_path):
    service = limited(database, clock, tmp_path, per_conversation=3)
    for _ in range(3):
        service.save_upload(SENDER, photo(), "front.jpg")
        clock.advance(minutes=10)
    with pytest.raises(InvalidInput) as refusal:
        service.save_upload(SENDER, photo(), "front.jpg")
    # The first photo was 30 minutes ago: 30 minutes to wait.
    assert str(refusal.value) == ("这次对话在 1 小时内已经上传了 3 张照片，达到了上限（每 1 小时最多 3 张）。"
                                  "请 30 分钟后再上传；已上传的照片仍然有效。")
    assert len(rows(database, "uploads")) == 3
    service.save_upload("widget:" + "b" * 32, photo(), "front.jpg")  # another conversation: fine
    clock.advance(minutes=31)
    service.save_upload(SENDER, photo(), "front.jpg")  # the first photo's hour is over


def test_all_conversations_together_may_upload_so_many_bytes_an_hour(database, clock, tmp_path):
    picture = photo()
    service = limited(database, clock, tmp_path, per_conversation=100, bytes_for_everyone=3 * len(picture))
    for number in range(3):
        service.save_upload(f"widget:{number:032d}", picture, "front.jpg")
    with pytest.raises(InvalidInput, match=r"现在上传照片的人太多.*请 60 分钟后再上传"):
        service.save_upload("widget:" + "f" * 32, picture, "front.jpg")
    clock.advance(minutes=61)
    service.save_upload("widget:" + "f" * 32, picture, "front.jpg")


def test_the_quotas_come_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("UPLOADS_PER_CONVERSATION_PER_HOUR", "7")
    monkeypatch.setenv("UPLOAD_BYTES_PER_HOUR", "12345")
    monkeypatch.setenv("UPLOAD_UNATTACHED_HOURS", "5")
    store = UploadStore(tmp_path, MB)
    assert store.quota == UploadQuota(7, 12345)
    assert store.keep_unattached == timedelta(hours=5)
    assert config.max_request_bytes() == MB + config.REQUEST_OVERHEAD_BYTES


# -- unattached photos ------------------------------------------------------------------------

def uploads_of(service, count, sender=SENDER):
    return [service.save_upload(sender, photo(), f"photo{number}.jpg") for number in range(count)]


def test_unattached_photos_are_deleted_after_a_day_attached_ones_kept(service, database, clock):
    stale = uploads_of(service, 2)
    appeal_photos = uploads_of(service, 2)
    service.create_appeal(AppealDraft(kind=AccountKind.NATURAL, phone="13900139000",
                                      front_upload_id=appeal_photos[0].id, back_upload_id=appeal_photos[1].id,
                                      person_name="张三", doc_type="居民身份证", doc_number="110101199003074514"),
                          SENDER)
    account = add_account(database, "zhangsan", phone="13800138000", name="张三", doc_type="居民身份证",
                          doc_number="110101199003074514", state=RealnameState.FAILED)
    review_photos = uploads_of(service, 2)
    service.open_review(account, review_photos[0].id, review_photos[1].id, SENDER)
    clock.advance(hours=23)
    recent = uploads_of(service, 1)
    assert service.purge_unattached_uploads() == 0  # nothing is a day old yet
    clock.advance(hours=1, seconds=1)

    assert service.purge_unattached_uploads() == 2
    kept = {upload.id for upload in appeal_photos + review_photos + recent}
    assert {row[0] for row in rows(database, "uploads", "id")} == kept
    assert {path.stem for path in stored_files(service)} == kept
    assert service.stored_photos([upload.id for upload in appeal_photos]) is not None
    with pytest.raises(InvalidInput, match="没有找到这张照片，请重新上传"):
        service.upload_of_sender(stale[0].id, SENDER)
    [purged] = [entry for entry in service.audit_log() if entry.action == "uploads_purged"]
    assert purged.actor == "system:upload_sweep" and '"count": 2' in purged.detail
    assert service.purge_unattached_uploads() == 0


def test_uploads_purge_deletes_what_the_clock_says_is_old(monkeypatch, capsys, database, tmp_path):
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "cli-uploads"))
    monkeypatch.setenv("SMS_BACKEND", "outbox")
    day = timedelta(hours=config.get_int("UPLOAD_UNATTACHED_HOURS"))
    then = utcnow() - day - timedelta(minutes=5)
    earlier = AccountService(database, sms=SmsGateway(), clock=lambda: then)  # photos sent a day ago
    old = uploads_of(earlier, 2)
    fresh = AccountService(database, sms=SmsGateway()).save_upload(SENDER, photo(), "new.jpg")
    assert main(["uploads", "purge", "--database-url", database.url]) == 0
    assert capsys.readouterr().out == "2 unattached photo(s) deleted\n"
    assert [row[0] for row in rows(database, "uploads", "id")] == [fresh.id]
    assert sorted(path.name for path in (tmp_path / "cli-uploads").iterdir()) == [fresh.stored_name]
    assert all(not earlier.uploads.path_of(upload).exists() for upload in old)
