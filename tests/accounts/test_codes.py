"""SMS codes: 6 digits, only an HMAC stored, used once, valid 5 minutes,
5 wrong tries, at most 1 a minute and 5 an hour per phone; the HTTP gateway
rolls the whole step back when the provider fails and keeps no text once sent;
no code in the log."""
import hashlib
import hmac
import logging
import re

import pytest
import requests

from bot.accounts.service import AccountService, CodeRefused, CodeRejected
from bot.accounts.sms import SENT_TEXT_NOT_KEPT, HttpSmsGateway, SmsFailed, SmsGateway
from bot.accounts.uploads import UploadStore
from tests.accounts.factories import rows

PHONE = "13800138000"
OTHER_PHONE = "13900139000"


def sent_code(service: AccountService, phone: str = PHONE) -> str:
    """The code in the latest SMS to the phone."""
    text = service.outbox(phone, limit=1)[0].text
    return re.search(r"验证码是 (\d+)", text).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# -- the code itself ----------------------------------------------------------

def test_code_is_six_digits_in_the_sms(service):
    service.send_code(PHONE, "reset")
    [message] = service.outbox(PHONE)
    assert re.fullmatch(r"\d{6}", sent_code(service))
    assert message.purpose == "reset"
    assert message.text.startswith("【科技部政务服务平台】")
    assert "5 分钟" in message.text


def test_only_the_hmac_of_the_code_is_stored(service, database):
    service.send_code(PHONE, "reset")
    code = sent_code(service)
    [row] = rows(database, "one_time_codes")
    assert not any(code in str(value) for value in row)
    # An HMAC under the server's secret: a plain hash of a 6-digit code is undone by trying all 10^6.
    assert hashlib.sha256(f"{PHONE}:{code}".encode()).hexdigest() not in row
    assert hmac.new(service.code_key.encode(), f"{PHONE}:{code}".encode(), hashlib.sha256).hexdigest() in row


def test_the_code_secret_comes_from_the_setting(database, monkeypatch, tmp_path):
    monkeypatch.setenv("SMS_CODE_SECRET", "a-code-secret-of-at-least-32-characters")
    assert AccountService(database, sms=SmsGateway(), uploads=UploadStore(tmp_path, 1024)).code_key == \
        "a-code-secret-of-at-least-32-characters"
    monkeypatch.setenv("SMS_CODE_SECRET", "")
    first = AccountService(database, sms=SmsGateway(), uploads=UploadStore(tmp_path, 1024)).code_key
    assert len(first) >= 32  # a random key of this process


def test_a_code_never_reaches_the_log(service, caplog):
    caplog.set_level(logging.DEBUG)
    service.send_code(PHONE, "reset")
    code = sent_code(service)
    assert "SMS reset" in caplog.text  # the sending is logged ...
    assert code not in caplog.text and "验证码是" not in caplog.text  # ... its text is not


def test_sending_a_code_is_audited_with_the_phone_masked(service):
    service.send_code(PHONE, "reset")
    [entry] = service.audit_log()
    assert entry.action == "code_sent"
    assert "138****8000" in entry.detail and PHONE not in entry.detail


# -- checking -------------------------------------------------------------------

def test_right_code_is_accepted_once_then_refused(service):
    service.send_code(PHONE, "reset")
    code = sent_code(service)
    service.check_code(PHONE, "reset", code)
    with pytest.raises(CodeRejected) as error:
        service.check_code(PHONE, "reset", code)
    assert error.value.final


def test_code_of_another_purpose_is_refused(service):
    service.send_code(PHONE, "reset")
    with pytest.raises(CodeRejected):
        service.check_code(PHONE, "appeal", sent_code(service))


def test_code_is_valid_for_5_minutes(service, clock):
    service.send_code(PHONE, "reset")
    clock.advance(minutes=4, seconds=59)
    service.check_code(PHONE, "reset", sent_code(service))


def test_code_expires_after_5_minutes(service, clock):
    service.send_code(PHONE, "reset")
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(CodeRejected, match="过期") as error:
        service.check_code(PHONE, "reset", sent_code(service))
    assert error.value.final


def test_a_wrong_try_leaves_the_code_usable(service):
    service.send_code(PHONE, "reset")
    code = sent_code(service)
    with pytest.raises(CodeRejected, match="还可以再试 4 次") as error:
        service.check_code(PHONE, "reset", wrong(code))
    assert not error.value.final
    service.check_code(PHONE, "reset", code)


def test_wrong_tries_count_down_and_are_kept(service, database):
    service.send_code(PHONE, "reset")
    code = sent_code(service)
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRejected, match=f"还可以再试 {left} 次"):
            service.check_code(PHONE, "reset", wrong(code))
    assert rows(database, "one_time_codes", "wrong_tries") == [(4,)]  # committed, not rolled back


def test_after_5_wrong_tries_even_the_right_code_is_refused(service):
    service.send_code(PHONE, "reset")
    code = sent_code(service)
    for _ in range(4):
        with pytest.raises(CodeRejected):
            service.check_code(PHONE, "reset", wrong(code))
    with pytest.raises(CodeRejected, match="5 次") as fifth:
        service.check_code(PHONE, "reset", wrong(code))
    assert fifth.value.final
    with pytest.raises(CodeRejected, match="太多") as error:
        service.check_code(PHONE, "reset", code)
    assert error.value.final


def test_checking_without_any_code_is_refused(service):
    with pytest.raises(CodeRejected) as error:
        service.check_code(PHONE, "reset", "123456")
    assert error.value.final


def test_only_the_latest_code_counts(service, clock):
    service.send_code(PHONE, "reset")
    first = sent_code(service)
    clock.advance(minutes=1)
    service.send_code(PHONE, "reset")
    second = sent_code(service)
    if first != second:
        with pytest.raises(CodeRejected):
            service.check_code(PHONE, "reset", first)
    service.check_code(PHONE, "reset", second)


# -- rate limits ------------------------------------------------------------------

def test_second_code_within_a_minute_is_refused_with_the_wait(service, clock, database):
    service.send_code(PHONE, "reset")
    clock.advance(seconds=20)
    with pytest.raises(CodeRefused, match="40 秒"):
        service.send_code(PHONE, "reset")
    assert len(rows(database, "one_time_codes")) == 1
    assert len(service.outbox(PHONE)) == 1


def test_second_code_after_a_minute_is_sent(service, clock):
    service.send_code(PHONE, "reset")
    clock.advance(minutes=1)
    service.send_code(PHONE, "reset")
    assert len(service.outbox(PHONE)) == 2


def test_sixth_code_within_an_hour_is_refused_until_the_hour_is_over(service, clock):
    for _ in range(5):
        service.send_code(PHONE, "reset")
        clock.advance(minutes=2)
    # Now 10 minutes after the first: it leaves the hour in 50 minutes.
    with pytest.raises(CodeRefused, match="50 分钟"):
        service.send_code(PHONE, "reset")
    clock.advance(minutes=49)
    with pytest.raises(CodeRefused):
        service.send_code(PHONE, "reset")
    clock.advance(minutes=1)
    service.send_code(PHONE, "reset")
    assert len(service.outbox(PHONE)) == 6


def test_the_announced_wait_is_long_enough(service, clock):
    for _ in range(5):
        service.send_code(PHONE, "reset")
        clock.advance(seconds=90)
    # 7.5 minutes after the first: the hour is over in 52.5 minutes.
    with pytest.raises(CodeRefused) as error:
        service.send_code(PHONE, "reset")
    minutes = int(re.search(r"(\d+) 分钟", str(error.value)).group(1))
    clock.advance(minutes=minutes)
    service.send_code(PHONE, "reset")


def test_the_hourly_limit_counts_all_purposes(service, clock):
    for purpose in ("reset", "appeal", "reset", "appeal", "reset"):
        service.send_code(PHONE, purpose)
        clock.advance(minutes=1)
    with pytest.raises(CodeRefused):
        service.send_code(PHONE, "grant")


def test_codes_of_different_phones_are_independent(service, clock):
    for _ in range(5):
        service.send_code(PHONE, "reset")
        clock.advance(minutes=1)
    service.send_code(OTHER_PHONE, "reset")  # neither the minute nor the hour limit of PHONE
    mine, theirs = sent_code(service, PHONE), sent_code(service, OTHER_PHONE)
    if mine != theirs:
        with pytest.raises(CodeRejected):
            service.check_code(OTHER_PHONE, "reset", mine)
    service.check_code(OTHER_PHONE, "reset", theirs)
    service.check_code(PHONE, "reset", mine)


# -- the HTTP gateway ----------------------------------------------------------------

class FakeReply:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class FakePost:
    def __init__(self, status_code: int = 200, error: Exception = None) -> None:
        self.status_code, self.error, self.calls = status_code, error, []

    def __call__(self, url, **kwargs):
        self.calls.append((url, kwargs))
        if self.error:
            raise self.error
        return FakeReply(self.status_code)


def http_service(database, clock, tmp_path, post: FakePost) -> AccountService:
    gateway = HttpSmsGateway("https://sms.example/send", "sms-token", post=post)
    return AccountService(database, sms=gateway, uploads=UploadStore(tmp_path / "uploads", 1024 * 1024),
                          clock=clock)


def test_http_gateway_posts_the_message_and_marks_it_sent(database, clock, tmp_path):
    post = FakePost(200)
    service = http_service(database, clock, tmp_path, post)
    service.send_code(PHONE, "reset")
    [message] = service.outbox(PHONE)
    assert message.status == "sent"
    [(url, kwargs)] = post.calls
    assert url == "https://sms.example/send"
    assert kwargs["json"]["phone"] == PHONE and re.search(r"验证码是 \d{6}", kwargs["json"]["text"])
    # Once the provider has it, the text is kept nowhere here: not the code, not anything else.
    assert message.text == SENT_TEXT_NOT_KEPT
    assert kwargs["headers"] == {"Authorization": "Bearer sms-token"}
    assert kwargs["timeout"] > 0


def test_outbox_gateway_stores_without_sending(service):
    service.send_code(PHONE, "reset")
    assert service.outbox(PHONE)[0].status == "stored"


@pytest.mark.parametrize("post", [
    FakePost(500), FakePost(403), FakePost(error=requests.ConnectionError("refused")),
    FakePost(error=requests.Timeout("slow")),
], ids=["http-500", "http-403", "connection-error", "timeout"])
def test_failed_delivery_raises_and_leaves_nothing_behind(database, clock, tmp_path, post):
    service = http_service(database, clock, tmp_path, post)
    with pytest.raises(SmsFailed):
        service.send_code(PHONE, "reset")
    assert rows(database, "one_time_codes") == []
    assert rows(database, "sms_outbox") == []
    assert rows(database, "audit_log") == []


def test_failed_delivery_does_not_use_up_the_rate_limit(database, clock, tmp_path):
    post = FakePost(500)
    service = http_service(database, clock, tmp_path, post)
    with pytest.raises(SmsFailed):
        service.send_code(PHONE, "reset")
    post.status_code = 200
    service.send_code(PHONE, "reset")  # at once: the failed one was never recorded
    assert [message.status for message in service.outbox(PHONE)] == ["sent"]
