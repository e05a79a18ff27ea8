"""Photos (checked by content, stored under random names, 0600), 申诉找回 and
人工审核: what each step records, which SMS it sends, and what it refuses."""
import io
import re
import stat
import struct
import zlib

import pytest
from PIL import Image

from bot.accounts.checks import InvalidInput
from bot.accounts.models import Account, AccountKind, RealnameState
from bot.accounts.service import AppealDraft, NotFound
from tests.accounts.factories import OLD_PASSWORD, add_account, add_unit, photo, rows

SENDER = "web-user-1"
PHONE = "13800138000"
NEW_PHONE = "13900139000"
DOC = "110101199003074514"


def stored_files(service):
    directory = service.uploads.directory
    return sorted(directory.iterdir()) if directory.exists() else []


# -- uploads ---------------------------------------------------------------

@pytest.mark.parametrize("fmt, content_type, extension", [
    ("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png")])
def test_real_photos_are_accepted_and_stored_as_the_same_picture(service, fmt, content_type, extension):
    # Stored re-encoded, without metadata (tests/accounts/test_upload_limits.py): the same
    # picture, not the same bytes.
    data = photo(fmt)
    upload = service.save_upload(SENDER, data, "front" + extension)
    [path] = stored_files(service)
    assert (upload.content_type, upload.size, upload.original_name) == (
        content_type, path.stat().st_size, "front" + extension)
    assert path == service.uploads.path_of(upload)
    assert path.suffix == extension
    with Image.open(io.BytesIO(data)) as sent, Image.open(path) as stored:
        assert (stored.format, stored.size) == (sent.format, sent.size)
        if fmt == "PNG":  # lossless: the very same pixels
            assert stored.tobytes() == sent.convert(stored.mode).tobytes()


def test_photo_is_stored_under_a_random_name_not_the_original_one(service):
    first = service.save_upload(SENDER, photo(), "张三身份证正面.jpg")
    second = service.save_upload(SENDER, photo(), "张三身份证正面.jpg")
    for upload in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}\.jpg", upload.stored_name)
        assert "身份证" not in upload.stored_name
        assert re.fullmatch(r"[0-9a-f]{32}", upload.id)
    assert first.stored_name != second.stored_name


def test_path_in_the_original_name_cannot_place_the_file(service, tmp_path):
    upload = service.save_upload(SENDER, photo(), "../../outside.jpg")
    assert service.uploads.path_of(upload).parent == service.uploads.directory
    assert not (tmp_path / "outside.jpg").exists() and not (tmp_path.parent / "outside.jpg").exists()


def test_stored_photo_is_readable_by_the_owner_only(service):
    upload = service.save_upload(SENDER, photo(), "front.jpg")
    assert stat.S_IMODE(service.uploads.path_of(upload).stat().st_mode) == 0o600


def test_saving_a_photo_is_audited_without_the_original_name(service):
    service.save_upload(SENDER, photo(), "张三身份证正面.jpg")
    [entry] = service.audit_log()
    assert (entry.actor, entry.action) == (f"user:{SENDER}", "upload_saved")
    assert "张三" not in entry.detail


def refused(service, database, data, name, message):
    with pytest.raises(InvalidInput, match=message) as error:
        service.save_upload(SENDER, data, name)
    assert stored_files(service) == []
    assert rows(database, "uploads") == []
    return str(error.value)


def test_pdf_renamed_to_jpg_is_refused(service, database):
    refused(service, database, b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "front.jpg", "PDF")


def test_other_files_renamed_to_jpg_are_refused(service, database):
    refused(service, database, b"PK\x03\x04" + b"\x00" * 100, "front.jpg", "jpg、jpeg 或 png")
    refused(service, database, b"hello, this is text", "front.png", "不是照片")


def test_photo_over_1_mb_is_refused_with_its_size(service, database):
    data = photo() + b"\x00" * (5 * 1024 * 1024)  # a valid JPEG, padded to over 5 MB
    message = refused(service, database, data, "front.jpg", "MB")
    assert "5.0 MB" in message and "1 MB" in message


def test_photo_of_exactly_1_mb_is_accepted_and_what_follows_the_picture_dropped(service):
    data = photo()
    data += b"\x00" * (1024 * 1024 - len(data))
    upload = service.save_upload(SENDER, data, "front.jpg")
    assert upload.size < 100 * 1024  # the padding after the JPEG's end is not stored


def test_empty_file_is_refused(service, database):
    refused(service, database, b"", "front.jpg", "空")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_refused(service, database, keep):
    data = photo("JPEG")
    refused(service, database, data[:int(len(data) * keep)], "front.jpg", "损坏")


def test_truncated_png_is_refused(service, database):
    data = photo("PNG")
    refused(service, database, data[:len(data) // 2], "front.png", "损坏")


def test_small_file_claiming_a_huge_image_is_refused_as_a_user_error(service, database):
    data = bytearray(photo("PNG", size=(8, 8)))
    header = struct.pack(">II", 20000, 20000) + bytes(data[24:29])  # IHDR: 400 million pixels
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    refused(service, database, bytes(data), "front.png", "尺寸太大")


def test_failure_after_the_file_was_written_removes_file_and_row(service, database, monkeypatch):
    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit failed")

    monkeypatch.setattr(service, "_audit", broken_audit)
    with pytest.raises(RuntimeError):
        service.save_upload(SENDER, photo(), "front.jpg")
    assert stored_files(service) == []
    assert rows(database, "uploads") == []


def test_upload_belongs_to_its_sender_only(service):
    upload = service.save_upload(SENDER, photo(), "front.jpg")
    assert service.upload_of_sender(upload.id, SENDER).id == upload.id
    with pytest.raises(InvalidInput, match="没有找到"):
        service.upload_of_sender(upload.id, "someone-else")
    with pytest.raises(InvalidInput, match="没有找到"):
        service.upload_of_sender("0" * 32, SENDER)


# -- appeals -------------------------------------------------------------------

def two_photos(service, sender=SENDER):
    return (service.save_upload(sender, photo(), "front.jpg").id,
            service.save_upload(sender, photo(), "back.jpg").id)


def natural_draft(service, doc_number=DOC, phone=NEW_PHONE, sender=SENDER) -> AppealDraft:
    front, back = two_photos(service, sender)
    return AppealDraft(kind=AccountKind.NATURAL, phone=phone, front_upload_id=front, back_upload_id=back,
                       person_name="张三", doc_type="居民身份证", doc_number=doc_number)


def account_row(database, account_id) -> Account:
    with database.session() as session:
        account = session.get(Account, account_id)
        _ = account.realname_events
        return account


def test_appeal_is_recorded_pending_with_a_number_and_the_matched_account(service, database):
    account_id = add_account(database, "zhangsan", phone=PHONE, doc_type="居民身份证", doc_number=DOC)
    appeal = service.create_appeal(natural_draft(service), SENDER)
    assert re.fullmatch(r"SS20261123\d{8}", appeal.number)
    assert appeal.state == "pending"
    assert appeal.account_id == account_id
    assert (appeal.phone, appeal.sender_id) == (NEW_PHONE, SENDER)
    [stored] = service.list_appeals()
    assert stored.number == appeal.number


def test_appeal_matches_the_document_case_insensitively(service, database):
    account_id = add_account(database, "wangwu", doc_type="居民身份证", doc_number="11010519491231002X")
    appeal = service.create_appeal(natural_draft(service, doc_number="11010519491231002x"), SENDER)
    assert appeal.account_id == account_id


def test_appeal_prefers_the_real_name_verified_holder(service, database):
    add_account(database, "zhangsan_old", doc_type="居民身份证", doc_number=DOC)
    verified = add_account(database, "zhangsan", doc_type="居民身份证", doc_number=DOC,
                           state=RealnameState.VERIFIED_ONLINE)
    assert service.create_appeal(natural_draft(service), SENDER).account_id == verified


def test_appeal_without_a_matching_account_is_still_recorded(service):
    appeal = service.create_appeal(natural_draft(service), SENDER)
    assert appeal.account_id is None and appeal.state == "pending"


def test_legal_appeal_matches_the_units_account(service, database):
    legal_id = add_account(database, "bjkj_2020", kind=AccountKind.LEGAL, phone=PHONE)
    unit_id = add_unit(database, legal_id, "北京新名科技有限公司", "91110108MA01ABCD3X",
                       former_names=["北京旧名科技有限公司"])
    front, back = two_photos(service)
    appeal = service.create_appeal(AppealDraft(
        kind=AccountKind.LEGAL, phone=NEW_PHONE, front_upload_id=front, back_upload_id=back,
        unit_id=unit_id, unit_name="北京旧名科技有限公司", renamed=True), SENDER)
    assert appeal.account_id == legal_id and appeal.renamed


def test_appeal_with_another_senders_photos_is_refused(service, database):
    draft = natural_draft(service, sender="someone-else")
    with pytest.raises(InvalidInput, match="没有找到"):
        service.create_appeal(draft, SENDER)
    assert rows(database, "appeals") == []


def test_appeal_is_audited_with_identity_data_masked(service, database):
    account_id = add_account(database, "zhangsan", doc_type="居民身份证", doc_number=DOC)
    service.create_appeal(natural_draft(service), SENDER)
    [entry] = [entry for entry in service.audit_log(account_id) if entry.action == "appeal_created"]
    assert "1101**********4514" in entry.detail and "139****9000" in entry.detail
    assert DOC not in entry.detail and NEW_PHONE not in entry.detail


def test_approved_appeal_sends_the_login_name_never_a_password(service, database):
    account_id = add_account(database, "zhangsan", phone=PHONE, doc_type="居民身份证", doc_number=DOC)
    appeal = service.create_appeal(natural_draft(service), SENDER)
    decided = service.decide_appeal(appeal.number, True, None, "staff:li")
    assert decided.state == "approved" and decided.decided_at is not None
    [sms] = service.outbox(NEW_PHONE)
    assert sms.purpose == "appeal_result"
    assert "zhangsan" in sms.text and appeal.number in sms.text
    assert OLD_PASSWORD not in sms.text
    assert service.outbox(PHONE) == []  # the old phone may be lost: the result goes to the appeal's phone


def test_approved_appeal_makes_the_appeal_phone_the_reserved_phone(service, database):
    account_id = add_account(database, "zhangsan", phone=PHONE, doc_type="居民身份证", doc_number=DOC)
    appeal = service.create_appeal(natural_draft(service), SENDER)
    service.decide_appeal(appeal.number, True, None, "staff:li")
    assert account_row(database, account_id).phone == NEW_PHONE


def test_approving_an_appeal_that_matches_no_account_is_refused(service):
    appeal = service.create_appeal(natural_draft(service), SENDER)
    with pytest.raises(InvalidInput, match="matches no account"):
        service.decide_appeal(appeal.number, True, None, "staff:li")
    assert service.list_appeals()[0].state == "pending"
    assert service.outbox() == []


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_rejecting_an_appeal_needs_a_reason(service, database, reason):
    add_account(database, "zhangsan", doc_type="居民身份证", doc_number=DOC)
    appeal = service.create_appeal(natural_draft(service), SENDER)
    with pytest.raises(InvalidInput, match="reason"):
        service.decide_appeal(appeal.number, False, reason, "staff:li")
    assert service.list_appeals()[0].state == "pending"
    assert service.outbox() == []


def test_rejected_appeal_sends_the_reason_and_keeps_the_phone(service, database):
    account_id = add_account(database, "zhangsan", phone=PHONE, doc_type="居民身份证", doc_number=DOC)
    appeal = service.create_appeal(natural_draft(service), SENDER)
    decided = service.decide_appeal(appeal.number, False, "照片不清晰", "staff:li")
    assert decided.state == "rejected" and decided.reason == "照片不清晰"
    [sms] = service.outbox(NEW_PHONE)
    assert "照片不清晰" in sms.text and "zhangsan" not in sms.text
    assert account_row(database, account_id).phone == PHONE


@pytest.mark.parametrize("first, second", [(True, False), (False, True), (True, True)])
def test_appeal_is_decided_only_once(service, database, first, second):
    add_account(database, "zhangsan", phone=PHONE, doc_type="居民身份证", doc_number=DOC)
    appeal = service.create_appeal(natural_draft(service), SENDER)
    service.decide_appeal(appeal.number, first, "照片不清晰", "staff:li")
    with pytest.raises(InvalidInput, match="already"):
        service.decide_appeal(appeal.number, second, "照片不清晰", "staff:wang")
    assert len(service.outbox(NEW_PHONE)) == 1


def test_unknown_appeal_is_not_found(service):
    with pytest.raises(NotFound):
        service.decide_appeal("SS20261123000000", True, None, "staff:li")


def test_appeal_decisions_are_audited(service, database):
    approved_id = add_account(database, "zhangsan", doc_type="居民身份证", doc_number=DOC)
    rejected_id = add_account(database, "lisi_2024", doc_type="境外护照", doc_number="E12345678")
    approved = service.create_appeal(natural_draft(service), SENDER)
    rejected = service.create_appeal(natural_draft(service, doc_number="E12345678"), SENDER)
    service.decide_appeal(approved.number, True, None, "staff:li")
    service.decide_appeal(rejected.number, False, "照片不清晰", "staff:wang")
    assert [(e.actor, e.action) for e in service.audit_log(approved_id)] == [
        (f"user:{SENDER}", "appeal_created"), ("staff:li", "appeal_approved")]
    assert [(e.actor, e.action) for e in service.audit_log(rejected_id)] == [
        (f"user:{SENDER}", "appeal_created"), ("staff:wang", "appeal_rejected")]
    assert "照片不清晰" in service.audit_log(rejected_id)[-1].detail


# -- manual reviews -------------------------------------------------------------

@pytest.fixture
def failed_account(database):
    return add_account(database, "zhangsan", phone=PHONE, name="张三", doc_type="居民身份证",
                       doc_number=DOC, state=RealnameState.FAILED)


def open_review(service, account_id, sender=SENDER):
    front, back = two_photos(service, sender)
    return service.open_review(account_id, front, back, sender)


def events(database, account_id):
    return [(event.state, event.note) for event in account_row(database, account_id).realname_events]


def test_opening_a_review_puts_the_account_in_review(service, database, failed_account):
    review = open_review(service, failed_account)
    assert review.state == "pending"
    account = account_row(database, failed_account)
    assert account.state == RealnameState.IN_REVIEW
    [(state, note)] = events(database, failed_account)
    assert state == RealnameState.IN_REVIEW and "人工审核" in note


def test_second_review_while_one_is_open_is_refused(service, database, failed_account):
    open_review(service, failed_account)
    with pytest.raises(InvalidInput, match="进行中"):
        open_review(service, failed_account)
    assert len(service.list_reviews()) == 1
    assert len(events(database, failed_account)) == 1


@pytest.mark.parametrize("state", [RealnameState.VERIFIED_ONLINE, RealnameState.VERIFIED_MANUAL])
def test_verified_account_needs_no_review(service, database, state):
    account_id = add_account(database, "zhangsan", state=state)
    with pytest.raises(InvalidInput, match="已经通过"):
        open_review(service, account_id)
    assert service.list_reviews() == []


def test_review_with_another_senders_photos_is_refused(service, database, failed_account):
    front, back = two_photos(service, "someone-else")
    with pytest.raises(InvalidInput, match="没有找到"):
        service.open_review(failed_account, front, back, SENDER)
    assert account_row(database, failed_account).state == RealnameState.FAILED


def test_approved_review_verifies_manually_and_tells_the_user(service, database, failed_account):
    review = open_review(service, failed_account)
    decided = service.decide_review(review.id, True, None, "staff:li")
    assert decided.state == "approved" and decided.decided_at is not None
    assert account_row(database, failed_account).state == RealnameState.VERIFIED_MANUAL
    assert events(database, failed_account)[-1][0] == RealnameState.VERIFIED_MANUAL
    [sms] = service.outbox(PHONE)
    assert sms.purpose == "review_result" and "人工审核通过" in sms.text


def test_rejected_review_fails_with_the_reason(service, database, failed_account):
    review = open_review(service, failed_account)
    service.decide_review(review.id, False, "证件照片反光", "staff:li")
    assert account_row(database, failed_account).state == RealnameState.FAILED
    state, note = events(database, failed_account)[-1]
    assert state == RealnameState.FAILED and "证件照片反光" in note
    [sms] = service.outbox(PHONE)
    assert "未通过" in sms.text and "证件照片反光" in sms.text


def test_rejecting_a_review_needs_a_reason(service, database, failed_account):
    review = open_review(service, failed_account)
    with pytest.raises(InvalidInput, match="reason"):
        service.decide_review(review.id, False, " ", "staff:li")
    assert account_row(database, failed_account).state == RealnameState.IN_REVIEW


def test_review_is_decided_only_once(service, database, failed_account):
    review = open_review(service, failed_account)
    service.decide_review(review.id, True, None, "staff:li")
    with pytest.raises(InvalidInput, match="already"):
        service.decide_review(review.id, False, "证件照片反光", "staff:wang")
    assert account_row(database, failed_account).state == RealnameState.VERIFIED_MANUAL
    assert len(service.outbox(PHONE)) == 1


def test_review_of_an_account_without_phone_is_decided_without_sms(service, database):
    account_id = add_account(database, "nophone", state=RealnameState.FAILED)
    review = open_review(service, account_id)
    service.decide_review(review.id, True, None, "staff:li")
    assert account_row(database, account_id).state == RealnameState.VERIFIED_MANUAL
    assert service.outbox() == []


def test_a_new_review_can_be_opened_after_a_rejection(service, database, failed_account):
    review = open_review(service, failed_account)
    service.decide_review(review.id, False, "证件照片反光", "staff:li")
    open_review(service, failed_account)
    assert account_row(database, failed_account).state == RealnameState.IN_REVIEW


def test_review_steps_are_audited(service, database, failed_account):
    review = open_review(service, failed_account)
    service.decide_review(review.id, False, "证件照片反光", "staff:li")
    second = open_review(service, failed_account)
    service.decide_review(second.id, True, None, "staff:wang")
    assert [(e.actor, e.action) for e in service.audit_log(failed_account)] == [
        (f"user:{SENDER}", "review_opened"), ("staff:li", "review_rejected"),
        (f"user:{SENDER}", "review_opened"), ("staff:wang", "review_approved")]
