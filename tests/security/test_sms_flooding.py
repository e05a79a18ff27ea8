"""SMS floods against the real Rasa and action servers, with small limits so each flood
reaches them (issue 12, item 3; docs/security.md section 8): many targets from one client
address, a client naming its own address, the unit admin's grant-request SMS, and the
hourly budget of the whole assistant.  Each attack counts the SMS that went out.

These servers trust 127.0.0.1 as their proxy (``TRUSTED_PROXIES``): the tests name their
clients' addresses in ``X-Forwarded-For``, as a proxy would.
"""
import itertools
import re
import uuid
from datetime import date, datetime

import pytest

from bot.accounts.models import Account, AccountKind, Grant, RealnameState, Unit
from bot.accounts.service import AccountService
from bot.store import Database
from tests.assistants import assistant_on_sqlite
from tests.security.test_enumeration import observed, say, texts

pytestmark = pytest.mark.integration

ADDRESSES = (f"203.0.113.{index}" for index in itertools.count(1))
LIMITS = {
    "SMS_LIMIT_PER_ADDRESS": "3",
    "GRANT_REQUEST_LIMIT_PER_ADMIN": "2",
    "LOOKUP_LIMIT_PER_ADDRESS": "6",
    "SMS_HOURLY_BUDGET": "12",
}
ADMIN_PHONE = "13012345690"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with assistant_on_sqlite(tmp_path_factory, "security-sms-flooding.log", SUPPORT_HOURS="always",
                             TELEGRAM_BOT_TOKEN="", TRUSTED_PROXIES="127.0.0.1", **LIMITS) as process:
        yield process


@pytest.fixture(scope="module")
def accounts(server):
    database = Database(server.overrides["DATABASE_URL"])
    service = AccountService(database)
    with database.session() as session:
        for index in range(20):
            session.add(Account(kind=AccountKind.NATURAL, login_name=f"flood_{index}", password_hash="unused",
                                phone=f"130123457{index:02d}", realname_state=RealnameState.UNVERIFIED,
                                created_at=datetime(2026, 1, 5)))
        admin = Account(kind=AccountKind.LEGAL, login_name="flood_unit", password_hash="unused", phone=ADMIN_PHONE,
                        realname_state=RealnameState.VERIFIED_ONLINE, created_at=datetime(2026, 1, 5))
        staff = Account(kind=AccountKind.NATURAL, login_name="flood_staff", password_hash="unused",
                        phone="13012345691", name="职员甲", realname_state=RealnameState.VERIFIED_ONLINE,
                        created_at=datetime(2026, 1, 5))
        session.add_all([admin, staff])
        session.flush()
        unit = Unit(account_id=admin.id, name="北京短信测试科技有限公司", credit_code="91110108MA01ABCD2X",
                    legal_type="企业法人", region="境内")
        session.add(unit)
        session.flush()
        # An expired grant: the diagnosis offers to text the unit's admin.
        session.add(Grant(unit_id=unit.id, account_id=staff.id, system="tech_contract", role="事项办理员",
                          expires_on=date(2020, 1, 1)))
    yield service
    database.dispose()


def sms_sent(accounts) -> int:
    return len(accounts.outbox(limit=10_000))


def ask_code(server, login_name: str, address: str, metadata=None) -> str:
    """A fresh conversation asks for the code of ``login_name``; what it is answered."""
    sender = f"flood-{uuid.uuid4().hex[:12]}"
    say(server, sender, "/forgot_password", address, metadata)
    return texts([observed(say(server, sender, login_name, address, metadata))])


def test_one_address_cannot_flood_many_targets_from_many_conversations(server, accounts):
    address, before = next(ADDRESSES), sms_sent(accounts)
    answers = [ask_code(server, f"flood_{index}", address) for index in range(5)]
    assert sms_sent(accounts) - before == 3  # SMS_LIMIT_PER_ADDRESS
    assert all("短信发送太频繁" in answer for answer in answers[3:])
    assert "如果账号存在" in ask_code(server, "flood_5", next(ADDRESSES))  # another client is served


def test_a_client_cannot_name_its_own_address(server, accounts):
    """The address under the metadata key the channel uses is overwritten by the channel."""
    address, before = next(ADDRESSES), sms_sent(accounts)
    answers = [ask_code(server, f"flood_{index}", address, {"client_address": f"192.0.2.{index}"})
               for index in range(6, 10)]
    assert sms_sent(accounts) - before == 3
    assert "短信发送太频繁" in answers[3]


def test_the_grant_request_sms_to_a_unit_admin_is_limited(server, accounts):
    """A verified staff member asks again and again to text the unit's admin: GRANT_REQUEST_LIMIT_PER_ADMIN."""
    sender, address = f"flood-{uuid.uuid4().hex[:12]}", next(ADDRESSES)
    say(server, sender, "/missing_grant", address)
    say(server, sender, "flood_staff", address)
    code = re.search(r"验证码是 (\d{6})", accounts.outbox(phone="13012345691", limit=1)[0].text).group(1)
    say(server, sender, code, address)
    answers = []
    for _ in range(3):
        say(server, sender, "/missing_grant", address)
        offer = texts([observed(say(server, sender, "技术合同管理与服务", address))])
        assert "过期" in offer
        answers.append(texts([observed(say(server, sender, "发", address))]))
    assert len(accounts.outbox(phone=ADMIN_PHONE)) == 2
    assert "已给单位管理员" in answers[0] and "已给单位管理员" in answers[1]
    assert "一天内已经收到 2 条" in answers[2]


def test_the_hourly_budget_holds_whoever_asks(server, accounts):
    """Fresh conversations from fresh addresses, one after the other: no more SMS than SMS_HOURLY_BUDGET
    in the hour, then none at all, for anyone."""
    answers = [ask_code(server, f"flood_{index % 20}", next(ADDRESSES)) for index in range(10, 24)]
    assert sms_sent(accounts) == int(LIMITS["SMS_HOURLY_BUDGET"])
    assert "这一小时的短信已经发完了" in answers[-1]
    assert "这一小时的短信已经发完了" in ask_code(server, "flood_19", next(ADDRESSES))
