"""The limits of issue 12, item 3, on the account service (SQLite and PostgreSQL):
lookups per conversation and client address; SMS per phone, conversation, client
address and the hourly budget; grant requests per unit admin; codes bound to their
conversation, and the stand-in code of a lookup that found nothing."""
import re

import pytest

from bot.accounts import limits
from bot.accounts.models import Account, AccountKind, RealnameState, Unit
from bot.accounts.service import CodeRefused, CodeRejected, Requester
from tests.accounts.conftest import START
from tests.accounts.factories import rows

PHONE = "13800138000"
ADMIN_PHONE = "13700137000"


def sent(service, phone: str = PHONE) -> int:
    return sum("验证码是" in message.text for message in service.outbox(phone, limit=100))


def code_of(service, phone: str = PHONE) -> str:
    return re.search(r"验证码是 (\d{6})", service.outbox(phone, limit=1)[0].text).group(1)


# -- lookups ------------------------------------------------------------------------------

def test_lookups_are_limited_per_conversation(service, clock, monkeypatch):
    monkeypatch.setenv("LOOKUP_LIMIT_PER_CONVERSATION", "3")
    for _ in range(3):
        service.take_lookup(Requester("rest:one", "10.0.0.1"))
    with pytest.raises(limits.RateLimited, match="查询太频繁了，请 60 分钟后再试") as refused:
        service.take_lookup(Requester("rest:one", "10.0.0.2"))  # another address does not help
    assert refused.value.limit is limits.LOOKUPS_PER_CONVERSATION
    service.take_lookup(Requester("rest:two", "10.0.0.1"))  # another conversation may
    clock.advance(minutes=60)
    service.take_lookup(Requester("rest:one", "10.0.0.1"))  # the hour is over


def test_lookups_are_limited_per_client_address_over_its_conversations(service, monkeypatch):
    monkeypatch.setenv("LOOKUP_LIMIT_PER_ADDRESS", "4")
    for index in range(4):
        service.take_lookup(Requester(f"rest:{index}", "203.0.113.9"))
    with pytest.raises(limits.RateLimited) as refused:
        service.take_lookup(Requester("rest:fresh", "203.0.113.9"))
    assert refused.value.limit is limits.LOOKUPS_PER_ADDRESS
    service.take_lookup(Requester("rest:fresh", "203.0.113.10"))


def test_a_refused_request_does_not_count_and_keys_are_stored_as_digests(service, database, monkeypatch):
    monkeypatch.setenv("LOOKUP_LIMIT_PER_CONVERSATION", "1")
    service.take_lookup(Requester("rest:one", "198.51.100.7"))
    for _ in range(3):
        with pytest.raises(limits.RateLimited):
            service.take_lookup(Requester("rest:one", "198.51.100.7"))
    stored = rows(database, "rate_limit_hits")
    assert len(stored) == 2  # one per limit: the refused ones left nothing
    assert not any("198.51.100.7" in str(value) or "rest:one" in str(value) for row in stored for value in row)


# -- SMS --------------------------------------------------------------------------------

def test_sms_are_limited_per_conversation_to_any_numbers(service, clock, monkeypatch):
    monkeypatch.setenv("SMS_LIMIT_PER_CONVERSATION", "3")
    requester = Requester("rest:flooder", "10.1.1.1")
    for index in range(3):
        service.send_code(f"1380013800{index}", "verify", requester)
        clock.advance(minutes=1)
    with pytest.raises(CodeRefused, match="短信发送太频繁"):
        service.send_code("13800138009", "verify", requester)
    assert sent(service, "13800138009") == 0


def test_sms_are_limited_per_client_address_over_its_conversations(service, monkeypatch):
    monkeypatch.setenv("SMS_LIMIT_PER_ADDRESS", "3")
    for index in range(3):
        service.send_code(f"1380013800{index}", "verify", Requester(f"rest:{index}", "10.2.2.2"))
    with pytest.raises(CodeRefused, match="短信发送太频繁"):
        service.send_code("13800138009", "verify", Requester("rest:another", "10.2.2.2"))
    service.send_code("13800138009", "verify", Requester("rest:another", "10.2.2.3"))


def test_the_hourly_budget_counts_every_request_for_everyone(service, clock, monkeypatch):
    monkeypatch.setenv("SMS_HOURLY_BUDGET", "3")
    service.send_code("13800138001", "verify", Requester("rest:a", "10.0.0.1"))
    service.send_code(None, "verify", Requester("rest:b", "10.0.0.2"))  # a lookup that found nothing counts too
    service.send_code("13800138003", "verify", Requester("rest:c", "10.0.0.3"))
    with pytest.raises(CodeRefused, match="这一小时的短信已经发完了"):
        service.send_code("13800138004", "verify", Requester("rest:d", "10.0.0.4"))
    clock.advance(hours=1)
    service.send_code("13800138004", "verify", Requester("rest:d", "10.0.0.4"))


def test_a_phone_over_its_limit_is_refused_aloud_or_quietly(service, clock, monkeypatch):
    monkeypatch.setenv("SMS_LIMIT_PER_PHONE", "2")
    for index in range(2):
        service.send_code(PHONE, "verify", Requester(f"rest:{index}", f"10.0.0.{index}"))
        clock.advance(minutes=1)
    with pytest.raises(CodeRefused, match="一小时内已经发送了 2 次"):
        service.send_code(PHONE, "appeal", Requester("rest:typed-it", "10.0.0.8"))
    service.send_code(PHONE, "verify", Requester("rest:quiet", "10.0.0.9"), quiet=True)  # no error ...
    assert sent(service) == 2  # ... and no SMS
    with pytest.raises(CodeRejected, match="还可以再试 4 次"):  # a code that exists, and is never right
        service.check_code(PHONE, "verify", code_of(service), "rest:quiet")


def test_codes_belong_to_their_conversation(service, clock):
    service.send_code(PHONE, "verify", Requester("rest:owner", "10.0.0.1"))
    code = code_of(service)
    with pytest.raises(CodeRejected, match="没有待使用的验证码"):
        service.check_code(PHONE, "verify", code, "rest:other")
    service.check_code(PHONE, "verify", code, "rest:owner")


def test_a_quiet_refusal_keeps_the_conversations_own_code_usable(service, clock, monkeypatch):
    monkeypatch.setenv("SMS_LIMIT_PER_PHONE", "1")
    service.send_code(PHONE, "verify", Requester("rest:owner", "10.0.0.1"))
    code = code_of(service)
    clock.advance(minutes=2)
    service.send_code(PHONE, "verify", Requester("rest:owner", "10.0.0.1"), quiet=True)  # "重发": over the limit
    assert sent(service) == 1
    service.check_code(PHONE, "verify", code, "rest:owner")


def test_one_code_a_minute_per_conversation_whatever_the_phone(service, clock):
    requester = Requester("rest:hasty", "10.0.0.1")
    service.send_code(None, "verify", requester)  # a lookup that found nothing
    clock.advance(seconds=15)
    with pytest.raises(CodeRefused, match="45 秒"):
        service.send_code(PHONE, "verify", requester)
    clock.advance(seconds=45)
    service.send_code(PHONE, "verify", requester)


def test_the_stand_in_code_is_recorded_never_sent_and_never_right(service, database):
    requester = Requester("rest:nobody", "10.0.0.1")
    service.send_code(None, "reset", requester)
    assert rows(database, "sms_outbox") == []
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRejected, match=f"还可以再试 {left} 次"):
            service.check_code(None, "reset", f"{left:06d}", "rest:nobody")
    with pytest.raises(CodeRejected, match="已输错 5 次") as fifth:
        service.check_code(None, "reset", "000000", "rest:nobody")
    assert fifth.value.final
    [entry] = [entry for entry in service.audit_log() if entry.action == "code_withheld"]
    assert entry.actor == "user:rest:nobody"


# -- grant requests ------------------------------------------------------------------------------

def test_grant_request_sms_are_limited_per_unit_admin(service, database, clock, monkeypatch):
    monkeypatch.setenv("GRANT_REQUEST_LIMIT_PER_ADMIN", "2")
    with database.session() as session:
        admin = Account(kind=AccountKind.LEGAL, login_name="unit_admin", password_hash="x", phone=ADMIN_PHONE,
                        realname_state=RealnameState.VERIFIED_ONLINE, created_at=START)
        person = Account(kind=AccountKind.NATURAL, login_name="staff", password_hash="x", phone=PHONE,
                         realname_state=RealnameState.VERIFIED_ONLINE, created_at=START)
        session.add_all([admin, person])
        session.flush()
        unit = Unit(account_id=admin.id, name="北京某某科技有限公司", credit_code="91110108MA01ABCD2X",
                    legal_type="企业法人", region="境内")
        session.add(unit)
        session.flush()
        ids = admin.id, person.id, unit.id
    for index in range(2):
        service.request_grant(ids[1], ids[2], "科技计划项目管理", "事项办理员", Requester(f"rest:{index}", f"10.0.0.{index}"))
    with pytest.raises(limits.RateLimited, match="一天内已经收到 2 条") as refused:
        service.request_grant(ids[1], ids[2], "科技计划项目管理", "事项办理员", Requester("rest:9", "10.0.0.9"))
    assert refused.value.limit is limits.GRANT_REQUESTS_PER_ADMIN
    assert len(service.outbox(ADMIN_PHONE)) == 2
    clock.advance(days=1)
    service.request_grant(ids[1], ids[2], "科技计划项目管理", "事项办理员", Requester("rest:9", "10.0.0.9"))
