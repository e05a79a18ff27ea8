"""The account flows (bot/accounts/flows/) driven the way the form drives
them: ``start`` once, then ``answer`` for each requested slot, with the
slots the engine returns merged into the conversation's slots.

Tests that take ``store`` run on SQLite and PostgreSQL; the rest (``lite``)
on SQLite only, to keep the file fast."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

import pytest

from bot.accounts import identity
from bot.accounts.flows import (
    APPEAL_BUTTON,
    CANCEL_HINT,
    FLOW_SLOTS,
    HUMAN_BUTTON,
    RESET_BUTTON,
    FlowEngine,
    Outcome,
    Turn,
    signed_flow_data,
    signed_verification,
)
from bot.accounts.flows.verification import HIDDEN_PHONE
from bot.accounts.masking import mask_login_name, mask_phone
from bot.accounts.models import (
    Account,
    AccountKind,
    Decision,
    Grant,
    RealnameState,
    Unit,
    UnitFormerName,
    UnitSystem,
)
from bot.accounts.service import AccountService, AppealDraft
from bot.accounts.sms import SmsGateway
from bot.accounts.uploads import UploadStore
from bot.store import Database
from tests.accounts.conftest import START, Clock
from tests.accounts.factories import photo

SENDER = "web-user-1"
SECRET = "test-identity-secret-of-32-characters-or-more"
OTHER_SECRET = "another-identity-secret-of-32-characters"
AUDIENCE = "most-account-assistant"

PHONE = "13800138000"
NEW_PHONE = "13900139000"
ADMIN_PHONE = "13700137000"
ID_NUMBER = "110101199003074514"
ID_BAD_CHECKSUM = "110101199003074515"
OTHER_ID = "440305198808153023"
CREDIT_CODE = "91110108MA01ABCD2X"
UNKNOWN_CREDIT_CODE = "91110108MA01ABCD3Y"
ZHANGSAN = mask_login_name("zhangsan")


# -- the store ---------------------------------------------------------------

@dataclass
class Store:
    database: Database
    service: AccountService
    clock: Clock

    def engine(self, **options: Any) -> FlowEngine:
        return FlowEngine(self.service, **options)

    def code(self, phone: str) -> str:
        """The 6 digits of the latest code SMS to ``phone``."""
        for message in self.service.outbox(phone=phone):
            match = re.search(r"验证码是 (\d{6})", message.text)
            if match:
                return match.group(1)
        raise AssertionError(f"no code was sent to {phone}")

    def codes_sent(self, phone: Optional[str] = None) -> int:
        return sum("验证码是" in message.text for message in self.service.outbox(phone=phone, limit=100))

    def upload(self, sender: str = SENDER) -> str:
        return self.service.save_upload(sender, photo("PNG"), "a.png").id


@pytest.fixture
def store(database, service, clock) -> Store:
    """SQLite and PostgreSQL (the fixtures of conftest.py)."""
    return Store(database, service, clock)


@pytest.fixture
def lite(tmp_path, clock):
    """SQLite only."""
    database = Database(f"sqlite:///{tmp_path / 'flows.db'}")
    database.upgrade()
    service = AccountService(database, sms=SmsGateway(),
                             uploads=UploadStore(tmp_path / "uploads", 1024 * 1024), clock=clock)
    yield Store(database, service, clock)
    database.dispose()


def add(database: Database, row: Any) -> int:
    with database.session() as session:
        session.add(row)
        session.flush()
        return row.id


def account(database: Database, login_name: str, *, kind: AccountKind = AccountKind.NATURAL,
            phone: Optional[str] = PHONE, state: RealnameState = RealnameState.UNVERIFIED,
            **fields: Any) -> int:
    return add(database, Account(kind=kind, login_name=login_name, password_hash="unused",
                                 phone=phone, realname_state=state, created_at=START, **fields))


def unit(database: Database, account_id: int, name: str, credit_code: str = CREDIT_CODE, *,
         former_names: tuple = (), systems: tuple = (), **fields: Any) -> int:
    unit_id = add(database, Unit(account_id=account_id, name=name, credit_code=credit_code,
                                 legal_type="企业法人", region="境内", **fields))
    for former in former_names:
        add(database, UnitFormerName(unit_id=unit_id, name=former))
    for system in systems:
        add(database, UnitSystem(unit_id=unit_id, system=system, entered_on=START.date()))
    return unit_id


def grant(database: Database, unit_id: int, account_id: int, system: str, role: str,
          expires_on: Optional[date] = None) -> int:
    return add(database, Grant(unit_id=unit_id, account_id=account_id, system=system, role=role,
                               expires_on=expires_on))


def state_of(database: Database, account_id: int) -> RealnameState:
    with database.session() as session:
        return session.get(Account, account_id).state


# -- the conversation ----------------------------------------------------------

class Conversation:
    """What the form does: keeps the slots, asks what the engine asks."""

    def __init__(self, engine: FlowEngine, flow: str, sender: str = SENDER, **slots: Any) -> None:
        self.engine = engine
        self.sender = sender
        self.slots: Dict[str, Any] = {"flow": flow, **slots}
        self.ask: Optional[str] = None
        self.done = False
        self.texts: List[str] = []  # every message of the conversation
        self.outcome: Optional[Outcome] = None

    def _take(self, outcome: Outcome) -> Outcome:
        self.outcome = outcome
        if outcome.rejected:
            return outcome
        assert outcome.done or outcome.ask, outcome
        self.slots.update(outcome.slots)
        self.texts += [message["text"] for message in outcome.messages]
        self.ask, self.done = outcome.ask, outcome.done
        return outcome

    def start(self, **metadata: Any) -> Outcome:
        return self._take(self.engine.start(self.slots, Turn(text="", metadata=metadata, sender_id=self.sender)))

    def say(self, text: str, intent: str = "inform", confidence: float = 0.95, **metadata: Any) -> Outcome:
        assert not self.done and self.ask, "the flow asks nothing"
        turn = Turn(text=text, intent=intent, confidence=confidence, metadata=metadata, sender_id=self.sender)
        return self._take(self.engine.answer(self.slots, self.ask, turn))

    def upload(self, upload_id: str) -> Outcome:
        return self.say("", intent="send_file", upload_id=upload_id)

    @property
    def text(self) -> str:
        """The messages of the last step."""
        return "\n".join(message["text"] for message in self.outcome.messages)

    @property
    def buttons(self) -> List[Dict[str, str]]:
        return [button for message in self.outcome.messages for button in message.get("buttons", [])]


def verified(store: Store, flow: str, reference: str, phone: str = PHONE, **options: Any) -> Conversation:
    """A conversation past the account reference and the SMS code."""
    conversation = Conversation(store.engine(**options), flow)
    conversation.start()
    assert conversation.ask == "account_ref"
    conversation.say(reference)
    assert conversation.ask == "verification_code", conversation.text
    conversation.say(store.code(phone))
    return conversation


# -- reset -------------------------------------------------------------------------

def test_reset_login_name_then_code_gives_a_one_time_link(store):
    account(store.database, "zhangsan")
    conversation = Conversation(store.engine(), "reset")
    conversation.start()
    assert conversation.ask == "account_ref"
    assert "登录名" in conversation.text and conversation.text.endswith(CANCEL_HINT)

    conversation.say("zhangsan")
    assert conversation.ask == "verification_code"
    assert HIDDEN_PHONE in conversation.text and mask_phone(PHONE) not in conversation.text
    assert store.codes_sent(PHONE) == 1

    conversation.say(store.code(PHONE))
    assert conversation.done and conversation.ask is None
    match = re.search(r"/webhooks/account/reset\?token=([A-Za-z0-9_\-]{40,})", conversation.text)
    assert match, conversation.text
    assert ZHANGSAN in conversation.text
    assert store.service.reset_link_login(match.group(1)) == ZHANGSAN
    assert conversation.slots["verified_account"].startswith(f"{store.service.account_by_login('zhangsan').id}|")


def test_reset_shows_nothing_of_the_account_before_the_code(lite):
    account(lite.database, "zhangsan", name="张三", doc_type="居民身份证", doc_number=ID_NUMBER)
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    conversation.say("000000")  # wrong
    before = "\n".join(conversation.texts)
    for secret in (ZHANGSAN, "张三", "张*", ID_NUMBER, PHONE, PHONE[-4:], PHONE[:3], mask_phone(PHONE)):
        assert secret not in before
    assert re.findall(r"\d{3,}", before) == []

    conversation.say(lite.code(PHONE))
    assert ZHANGSAN in conversation.text


def steps_of(store: Store, flow: str, answers: List[str], sender: str) -> List[Tuple[Any, ...]]:
    """Everything a user observes of a conversation: each answer's texts, buttons and next question."""
    conversation = Conversation(store.engine(), flow, sender=sender)
    conversation.start()
    seen: List[Tuple[Any, ...]] = []
    for answer in answers:
        if conversation.done:
            break
        conversation.say(answer)
        seen.append((conversation.text, tuple(map(str, conversation.buttons)), conversation.ask, conversation.done))
        store.clock.advance(minutes=2)
    return seen


def test_reset_unknown_login_name_gets_the_same_answers_as_a_known_one(lite):
    """Issue 12, item 3: nothing tells whether a login name exists before verification."""
    account(lite.database, "zhangsan")
    answers = ["{name}", "000000", "重发", "000000", "手机号不用了"]
    known = steps_of(lite, "reset", [a.format(name="zhangsan") for a in answers], "asks-known")
    unknown = steps_of(lite, "reset", [a.format(name="nobody_1") for a in answers], "asks-unknown")
    assert known == unknown
    assert "如果账号存在" in known[0][0] and HIDDEN_PHONE in known[0][0]
    assert lite.codes_sent() == 2  # the known account's phone got its codes; nobody else got any


def test_reset_account_without_phone_gets_the_same_answer_and_no_code(lite):
    account(lite.database, "nophone", phone=None)
    account(lite.database, "hasphone")
    without = steps_of(lite, "reset", ["nophone", "000000"], "asks-nophone")
    with_phone = steps_of(lite, "reset", ["hasphone", "000000"], "asks-hasphone")
    assert without == with_phone
    assert "手机号不用了" in without[1][0]  # the way out for an account without a usable phone
    assert lite.codes_sent() == 1


def test_reset_sql_fragment_is_refused_with_the_reason_and_asked_again(lite):
    account(lite.database, "abc")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("abc'; drop table")
    assert conversation.ask == "account_ref" and not conversation.done
    assert "不能含有" in conversation.text and "'" in conversation.text
    assert "misses" not in (conversation.slots.get("flow_data") or {})
    assert lite.codes_sent() == 0


def test_reset_wrong_code_says_how_many_tries_are_left(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    right = lite.code(PHONE)
    conversation.say("111111" if right != "111111" else "222222")
    assert conversation.ask == "verification_code" and not conversation.done
    assert "还可以再试 4 次" in conversation.text
    assert "verified_account" not in conversation.slots
    conversation.say(f"验证码是{right}")
    assert conversation.done and "reset?token=" in conversation.text


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_reset_fifth_wrong_code_sends_a_new_one(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    first = lite.code(PHONE)
    for _ in range(4):
        conversation.say(wrong(first))
    lite.clock.advance(minutes=2)
    conversation.say(wrong(first))
    assert "已输错 5 次" in conversation.text and f"我已重新发送到 {HIDDEN_PHONE}" in conversation.text
    assert lite.codes_sent(PHONE) == 2
    conversation.say(lite.code(PHONE))
    assert conversation.done and "reset?token=" in conversation.text


def test_reset_fifth_wrong_code_within_a_minute_promises_no_new_code(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    first = lite.code(PHONE)
    for _ in range(5):
        conversation.say(wrong(first))
    assert lite.codes_sent(PHONE) == 1
    assert "已输错 5 次" in conversation.text and "秒后再让我重新发送" in conversation.text
    assert "新收到" not in conversation.text
    conversation.say(first)  # the old code is spent
    assert not conversation.done and "重新发送" in conversation.text


def test_reset_resend_sends_a_new_code_and_only_that_one_works(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    first = lite.code(PHONE)
    lite.clock.advance(minutes=2)
    conversation.say("没收到，重发一下")
    assert conversation.ask == "verification_code"
    assert f"已重新发送验证码到 {HIDDEN_PHONE}" in conversation.text
    assert lite.codes_sent(PHONE) == 2
    second = lite.code(PHONE)
    if first != second:
        conversation.say(first)
        assert not conversation.done
    conversation.say(second)
    assert conversation.done and "reset?token=" in conversation.text


def token_for(store: Store, login_name: str, secret: str = SECRET, **options: Any) -> str:
    """A token the platform signs now (by the store's clock)."""
    return identity.sign(login_name, secret, AUDIENCE, now=unix(store.clock.now), **options)


def unix(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def audit(store: Store, action: Optional[str] = None) -> List[Tuple[str, str, Optional[int], Dict[str, Any]]]:
    return [(entry.actor, entry.action, entry.account_id, json.loads(entry.detail or "{}"))
            for entry in store.service.audit_log() if action is None or entry.action == action]


def test_reset_identity_token_skips_straight_to_the_link(store):
    holder = account(store.database, "zhangsan")
    conversation = Conversation(store.engine(token_secret=SECRET), "reset")
    token = token_for(store, "zhangsan", token_id="platform-token-0001")
    conversation.start(identity_token=token)
    assert conversation.done
    assert "reset?token=" in conversation.text and ZHANGSAN in conversation.text
    assert store.codes_sent() == 0
    # Audited: who (the conversation), how, which token.
    assert audit(store, "identity_verified") == [
        (f"user:{SENDER}", "identity_verified", holder,
         {"method": "identity_token", "token_id": "platform-token-0001"})]


def test_reset_token_with_a_wrong_signature_is_ignored(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(token_secret=SECRET), "reset")
    conversation.start(identity_token=token_for(lite, "zhangsan", secret=OTHER_SECRET))
    assert conversation.ask == "account_ref"
    assert "verified_account" not in conversation.slots
    assert audit(lite, "identity_token_refused") == [
        (f"user:{SENDER}", "identity_token_refused", None, {"reason": "bad signature"})]


@pytest.mark.parametrize("aud, issued, lifetime, reason", [
    ("another-service", 0, 300, "wrong audience"),
    (AUDIENCE, -660, 86400, "token too old (iat)"),  # issued 11 minutes ago, valid for a day
    (AUDIENCE, -120, 60, "token expired"),  # issued 2 minutes ago, valid for one
])
def test_a_token_of_another_audience_too_old_or_expired_verifies_nobody(lite, aud, issued, lifetime, reason):
    account(lite.database, "zhangsan")
    iat = int(unix(lite.clock.now)) + issued
    options = {"aud": aud, "iat": iat, "exp": iat + lifetime}
    conversation = Conversation(lite.engine(token_secret=SECRET), "reset")
    conversation.start(identity_token=token_for(lite, "zhangsan", **options))
    assert conversation.ask == "account_ref" and "verified_account" not in conversation.slots
    assert [detail["reason"] for *_, detail in audit(lite, "identity_token_refused")] == [reason]
    assert audit(lite, "identity_verified") == []


def test_a_token_verifies_one_conversation_only(store):
    account(store.database, "zhangsan")
    token = token_for(store, "zhangsan")
    first = Conversation(store.engine(token_secret=SECRET), "reset", sender="the-user")
    first.start(identity_token=token)
    assert first.done and "reset?token=" in first.text

    replay = Conversation(store.engine(token_secret=SECRET), "reset", sender="someone-else")
    replay.start(identity_token=token)
    assert replay.ask == "account_ref" and "verified_account" not in replay.slots
    assert "reset?token=" not in replay.text
    [(actor, _, _, detail)] = audit(store, "identity_token_refused")
    assert actor == "user:someone-else" and detail["reason"] == "token already used in another conversation"
    assert [actor for actor, *_ in audit(store, "identity_verified")] == ["user:the-user"]


def test_the_same_conversation_may_present_its_token_again(lite):
    """The widget sends the page's token with every message: a second flow in the same
    conversation is no replay."""
    account(lite.database, "zhangsan")
    token = token_for(lite, "zhangsan")
    first = Conversation(lite.engine(token_secret=SECRET), "reset")
    first.start(identity_token=token)
    again = Conversation(lite.engine(token_secret=SECRET), "reset", verified_account=first.slots["verified_account"])
    again.start(identity_token=token)
    assert again.done and "reset?token=" in again.text
    lite.clock.advance(minutes=31)  # the verification expired; the token (10 minutes) too
    late = Conversation(lite.engine(token_secret=SECRET), "reset", verified_account=first.slots["verified_account"])
    late.start(identity_token=token)
    assert late.ask == "account_ref"
    assert len(audit(lite, "identity_verified")) == 1


def test_a_token_for_an_unknown_login_name_verifies_nobody(lite):
    conversation = Conversation(lite.engine(token_secret=SECRET), "reset")
    conversation.start(identity_token=token_for(lite, "nobody_here"))
    assert conversation.ask == "account_ref"
    assert [detail["reason"] for *_, detail in audit(lite, "identity_token_refused")] == [
        "no account has the login name"]


def test_a_verification_by_code_is_audited(store):
    holder = account(store.database, "zhangsan")
    conversation = verified(store, "reset", "zhangsan")
    assert conversation.done
    assert audit(store, "identity_verified") == [
        (f"user:{SENDER}", "identity_verified", holder, {"method": "sms_code"})]


# -- forged state: whoever writes the tracker verifies nobody ----------------------------------

def test_a_forged_verified_account_gives_no_link(lite):
    holder = account(lite.database, "zhangsan")
    for forged in (f"{holder}|2099-01-01T00:00:00",  # the unsigned format of old
                   f"{holder}|2099-01-01T00:00:00|" + "A" * 43,
                   signed_verification(SENDER, holder, START + timedelta(minutes=30), key="x" * 32),
                   "not even|a|value", 42):
        conversation = Conversation(lite.engine(), "reset", verified_account=forged)
        conversation.start()
        assert conversation.ask == "account_ref", forged
        assert "reset?token=" not in conversation.text
    assert lite.codes_sent() == 0


def test_a_verification_is_bound_to_its_conversation_and_account(lite):
    holder = account(lite.database, "zhangsan")
    other = account(lite.database, "lisi", phone=NEW_PHONE)
    genuine = verified(lite, "reset", "zhangsan").slots["verified_account"]
    copied = Conversation(lite.engine(), "reset", sender="attacker", verified_account=genuine)
    copied.start()
    assert copied.ask == "account_ref"
    altered = Conversation(lite.engine(), "reset", verified_account=genuine.replace(f"{holder}|", f"{other}|", 1))
    altered.start()
    assert altered.ask == "account_ref"
    extended = Conversation(lite.engine(), "reset", verified_account=re.sub(r"\|\d{4}-", "|2099-", genuine))
    extended.start()
    assert extended.ask == "account_ref"


def test_forged_flow_data_cannot_send_the_code_elsewhere_or_skip_it(lite):
    """flow_data naming the victim as target and the attacker's phone for the code is ignored."""
    victim = account(lite.database, "zhangsan")
    attacker_phone = NEW_PHONE
    forged = {"target": victim, "code_phone": attacker_phone, "purpose": "reset"}
    conversation = Conversation(lite.engine(), "reset", flow_data=forged, account_ref="given")
    conversation.ask = "verification_code"
    conversation.say("重发")
    assert lite.codes_sent(attacker_phone) == 0
    assert "verified_account" not in conversation.slots and "reset?token=" not in conversation.text
    skipped = Conversation(lite.engine(), "reset", flow_data={**forged, "code_ok": True}, account_ref="given")
    skipped.start()
    assert "reset?token=" not in skipped.text
    # Signed for another conversation: the same.
    copied = signed_flow_data(forged, "another-conversation")
    elsewhere = Conversation(lite.engine(), "reset", flow_data=copied, account_ref="given")
    elsewhere.ask = "verification_code"
    elsewhere.say("重发")
    assert lite.codes_sent(attacker_phone) == 0


def test_flow_data_goes_out_signed_for_the_conversation(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    data = conversation.slots["flow_data"]
    assert data == signed_flow_data({key: value for key, value in data.items() if key != "_signature"}, SENDER)


# -- appeal --------------------------------------------------------------------------

def test_natural_appeal_from_kind_to_filed_appeal(store):
    holder = account(store.database, "zhangsan", phone=None, name="张三", doc_type="居民身份证",
                     doc_number=ID_NUMBER)
    conversation = Conversation(store.engine(), "appeal")
    conversation.start()
    assert conversation.ask == "account_kind"
    assert {button["title"] for button in conversation.buttons} == {"个人账号", "单位账号"}

    conversation.say("个人账号")
    assert conversation.ask == "person_name"
    conversation.say("张三")
    assert conversation.ask == "doc_type"
    conversation.say("居民身份证")
    assert conversation.ask == "doc_number"

    conversation.say(ID_BAD_CHECKSUM)
    assert conversation.ask == "doc_number" and "校验位不对" in conversation.text
    conversation.say(ID_NUMBER)
    assert conversation.ask == "phone"
    conversation.say(NEW_PHONE)
    assert conversation.ask == "photo_front"

    conversation.say("我没有照片，可以不传吗")
    assert conversation.ask == "photo_front" and "需要上传照片" in conversation.text
    conversation.upload(store.upload(sender="someone-else"))
    assert conversation.ask == "photo_front" and "没有找到这张照片" in conversation.text
    front = store.upload()
    conversation.upload(front)
    assert conversation.ask == "photo_back"
    conversation.upload(front)
    assert conversation.ask == "photo_back" and "已经上传过了" in conversation.text
    back = store.upload()
    conversation.upload(back)
    assert conversation.ask == "verification_code"
    assert mask_phone(NEW_PHONE) in conversation.text
    assert store.service.appeals_for(phone=NEW_PHONE) == []

    conversation.say(store.code(NEW_PHONE))
    assert conversation.done
    [appeal] = store.service.appeals_for(phone=NEW_PHONE)
    assert appeal.state == Decision.PENDING
    assert appeal.number in conversation.text
    assert (appeal.kind, appeal.person_name, appeal.doc_type, appeal.doc_number) == (
        AccountKind.NATURAL, "张三", "居民身份证", ID_NUMBER)
    assert (appeal.front_upload_id, appeal.back_upload_id, appeal.sender_id) == (front, back, SENDER)
    assert appeal.account_id == holder
    assert not appeal.renamed


def test_legal_appeal_with_the_former_unit_name_is_a_rename_appeal(store):
    admin = account(store.database, "unit_admin", kind=AccountKind.LEGAL, phone=None)
    unit_id = unit(store.database, admin, "北京新名科技有限公司", former_names=("北京旧名科技有限公司",))
    conversation = Conversation(store.engine(), "appeal")
    conversation.start()
    conversation.say("单位账号")
    assert conversation.ask == "unit_name"
    conversation.say("北京旧名科技有限公司")
    assert conversation.ask == "person_name"
    assert "主代办人" in conversation.text and "改名" not in conversation.text  # a former name is not told
    assert conversation.slots["flow_data"]["renamed"] is True  # but the reviewer will know
    conversation.say("李四")
    conversation.say(NEW_PHONE)
    assert "加盖公章" in conversation.text  # what a renamed unit uploads is said to every unit
    conversation.upload(store.upload())
    conversation.upload(store.upload())
    conversation.say(store.code(NEW_PHONE))
    assert conversation.done
    [appeal] = store.service.appeals_for(phone=NEW_PHONE)
    assert appeal.number in conversation.text
    assert appeal.renamed is True
    assert (appeal.kind, appeal.unit_id, appeal.account_id) == (AccountKind.LEGAL, unit_id, admin)
    assert (appeal.unit_name, appeal.person_name, appeal.doc_number) == ("北京旧名科技有限公司", "李四", None)


def test_legal_appeal_answers_an_unknown_unit_as_a_known_one(lite):
    admin = account(lite.database, "unit_admin", kind=AccountKind.LEGAL, phone=None)
    unit(lite.database, admin, "北京新名科技有限公司", former_names=("北京旧名科技有限公司",))
    answers = ["单位账号", "{unit}", "李四", NEW_PHONE]
    seen = [steps_of(lite, "appeal", [a.format(unit=name) for a in answers], f"unit-{index}")
            for index, name in enumerate(("北京新名科技有限公司", "北京旧名科技有限公司", "北京不存在科技有限公司"))]
    assert seen[0][:3] == seen[1][:3] == seen[2][:3]
    assert seen[2][1][2] == "person_name"  # an unknown unit is taken as given: the reviewer checks it


# -- real-name failure ------------------------------------------------------------------

def natural(database: Database, login_name: str = "zhangsan", *, doc_type: str = "居民身份证",
            doc_number: str = ID_NUMBER, state: RealnameState = RealnameState.FAILED, **fields: Any) -> int:
    fields.setdefault("name", "张三")
    if doc_type == "居民身份证":
        fields.setdefault("doc_valid_from", date(2015, 3, 1))
    return account(database, login_name, doc_type=doc_type, doc_number=doc_number, state=state, **fields)


def review(store: Store, account_id: int, reject_with: Optional[str] = None) -> None:
    opened = store.service.open_review(account_id, store.upload(), store.upload(), SENDER)
    if reject_with:
        store.service.decide_review(opened.id, False, reject_with, "back-office")


def test_realname_missing_valid_from_date_of_an_id_card_is_named_and_nothing_uploaded(lite):
    natural(lite.database, doc_valid_from=None)
    conversation = verified(lite, "realname", "zhangsan")
    assert conversation.done
    assert "实名认证失败" in conversation.text
    assert "身份证有效起始日期" in conversation.text
    assert "修改个人信息" in conversation.text
    assert "photo_front" not in conversation.slots or conversation.slots["photo_front"] is None
    assert "上传" not in conversation.text


def test_realname_overseas_passport_goes_to_manual_review_and_the_photos_open_it(store):
    account_id = natural(store.database, doc_type="境外护照", doc_number="E12345678", name="JOHN SMITH")
    conversation = verified(store, "realname", "zhangsan")
    assert conversation.ask == "photo_front"
    assert "境外护照不做在线核验" in conversation.text and "人工审核" in conversation.text
    conversation.upload(store.upload())
    assert conversation.ask == "photo_back"
    conversation.upload(store.upload())
    assert conversation.done
    assert "已为您提交人工审核" in conversation.text
    assert state_of(store.database, account_id) == RealnameState.IN_REVIEW
    [pending] = store.service.list_reviews(Decision.PENDING)
    assert pending.account_id == account_id


def test_realname_pending_review_says_wait_and_the_expected_date_in_beijing_time(lite):
    account_id = natural(lite.database)
    review(lite, account_id)  # Monday 2026-11-23, 22:00 UTC: Tuesday 06:00 in Beijing
    conversation = verified(lite, "realname", "zhangsan")
    assert conversation.done
    assert "正在人工审核中" in conversation.text
    assert "2026-11-24 06:00 北京时间 提交" in conversation.text
    assert "预计 2026-11-26 前" in conversation.text
    assert "催办" not in conversation.text


def test_realname_late_review_offers_to_chase_it(lite):
    account_id = natural(lite.database)
    review(lite, account_id)
    lite.clock.advance(days=4)
    conversation = verified(lite, "realname", "zhangsan")
    assert "预计 2026-11-26 前" in conversation.text and "催办" in conversation.text


def test_realname_rejected_review_shows_the_reason_and_asks_for_new_photos(lite):
    account_id = natural(lite.database)
    review(lite, account_id, reject_with="照片反光看不清")
    conversation = verified(lite, "realname", "zhangsan")
    assert conversation.ask == "photo_front"
    assert "上次人工审核未通过，原因：照片反光看不清" in conversation.text


def test_realname_document_verified_on_another_account_names_it_masked(lite):
    natural(lite.database, "wangwu")
    natural(lite.database, "wangwu_2019", state=RealnameState.VERIFIED_ONLINE, phone="13500135000")
    conversation = verified(lite, "realname", "wangwu")
    assert conversation.done
    assert mask_login_name("wangwu_2019") in conversation.text
    assert "wangwu_2019" not in conversation.text
    assert APPEAL_BUTTON in conversation.buttons


def test_realname_second_rejection_offers_a_person(lite):
    account_id = natural(lite.database)
    review(lite, account_id, reject_with="证件照片不完整")
    review(lite, account_id, reject_with="签名与姓名不符")
    conversation = verified(lite, "realname", "zhangsan")
    assert conversation.done
    assert "两次未通过" in conversation.text and "签名与姓名不符" in conversation.text
    assert HUMAN_BUTTON in conversation.buttons


def test_realname_already_verified_needs_nothing(lite):
    natural(lite.database, state=RealnameState.VERIFIED_MANUAL)
    conversation = verified(lite, "realname", ID_NUMBER)
    assert conversation.done
    assert "科技部平台人工审核通过" in conversation.text and "不需要再处理" in conversation.text


# -- grants ----------------------------------------------------------------------------------

@pytest.fixture
def unit_admin():
    def make(store: Store, *, admin_phone: Optional[str] = ADMIN_PHONE, systems: tuple = ()) -> int:
        admin = account(store.database, "unit_admin", kind=AccountKind.LEGAL, phone=admin_phone,
                        state=RealnameState.VERIFIED_ONLINE)
        return unit(store.database, admin, "北京某某科技有限公司", systems=systems)
    return make


def test_grant_expired_is_said_and_the_admin_gets_an_sms_on_request(store, unit_admin):
    unit_id = unit_admin(store)
    person = account(store.database, "liming_kj", name="李明", state=RealnameState.VERIFIED_ONLINE)
    grant(store.database, unit_id, person, "tech_contract", "事项办理员", expires_on=date(2026, 11, 1))
    conversation = verified(store, "grant", "liming_kj")
    assert conversation.ask == "system_name"
    conversation.say("技术合同")
    assert conversation.ask == "confirm_request"
    assert "已于 2026-11-01 过期" in conversation.text
    assert store.service.outbox(phone=ADMIN_PHONE) == []

    conversation.say("发")
    assert conversation.done
    assert mask_phone(ADMIN_PHONE) in conversation.text and "事项办理员" in conversation.text
    [sms] = store.service.outbox(phone=ADMIN_PHONE)
    assert "技术合同管理与服务" in sms.text and "事项办理员" in sms.text and mask_login_name("liming_kj") in sms.text


def test_grant_request_declined_sends_nothing(lite, unit_admin):
    unit_id = unit_admin(lite)
    person = account(lite.database, "liming_kj", state=RealnameState.VERIFIED_ONLINE)
    grant(lite.database, unit_id, person, "tech_contract", "事项办理员", expires_on=date(2026, 11, 1))
    conversation = verified(lite, "grant", "liming_kj")
    conversation.say("技术合同管理与服务")
    conversation.say("不用了")
    assert conversation.done and "不发短信" in conversation.text
    assert lite.service.outbox(phone=ADMIN_PHONE) == []


def test_grant_item_manager_cannot_create_human_genetic_projects(lite, unit_admin):
    unit_id = unit_admin(lite)
    person = account(lite.database, "liming_kj", state=RealnameState.VERIFIED_ONLINE)
    grant(lite.database, unit_id, person, "human_genetic", "事项管理员")
    conversation = verified(lite, "grant", "liming_kj")
    conversation.say("人遗系统")
    assert conversation.ask == "confirm_request"
    assert "事项管理员" in conversation.text and "需要“事项办理员”角色" in conversation.text
    conversation.say("好的")
    [sms] = lite.service.outbox(phone=ADMIN_PHONE)
    assert "人类遗传资源管理系统" in sms.text and "事项办理员" in sms.text


def test_grant_none_at_all(lite, unit_admin):
    unit_admin(lite)
    account(lite.database, "liming_kj", state=RealnameState.VERIFIED_ONLINE)
    conversation = verified(lite, "grant", "liming_kj")
    conversation.say("高企认定")
    assert conversation.done
    assert "没有任何单位授予的“高新技术企业认定管理系统”权限" in conversation.text


def test_grant_needs_a_verified_account_first(lite, unit_admin):
    unit_id = unit_admin(lite)
    person = account(lite.database, "liming_kj", state=RealnameState.FAILED)
    grant(lite.database, unit_id, person, "tech_contract", "事项办理员")
    conversation = verified(lite, "grant", "liming_kj")
    conversation.say("技术合同")
    assert conversation.done
    assert "还没有通过实名认证" in conversation.text and "实名认证失败" in conversation.text


def test_grant_overseas_training_needs_registration_with_otm(lite):
    account(lite.database, "liming_kj", state=RealnameState.VERIFIED_ONLINE)
    conversation = verified(lite, "grant", "liming_kj")
    conversation.say("因公出国培训")
    assert conversation.done
    assert "otm@most.cn" in conversation.text and "报备" in conversation.text


def test_grant_legal_account_whose_unit_never_entered_the_system(lite, unit_admin):
    unit_admin(lite, systems=("tech_contract",))
    conversation = verified(lite, "grant", CREDIT_CODE, phone=ADMIN_PHONE)
    conversation.say("人类遗传资源管理系统")
    assert conversation.done
    assert "单位还没有进入过“人类遗传资源管理系统”" in conversation.text
    assert "办理入口" in conversation.text


def test_grant_request_when_the_unit_account_has_no_phone_ends_with_a_reason(lite, unit_admin):
    unit_id = unit_admin(lite, admin_phone=None)
    person = account(lite.database, "liming_kj", state=RealnameState.VERIFIED_ONLINE)
    grant(lite.database, unit_id, person, "tech_contract", "事项办理员", expires_on=date(2026, 11, 1))
    conversation = verified(lite, "grant", "liming_kj")
    conversation.say("技术合同")
    conversation.say("发")
    assert conversation.done
    assert "没有预留手机号" in conversation.text and "直接联系单位管理员" in conversation.text


# -- document already registered ------------------------------------------------------------

def test_registered_id_names_the_holding_account_then_reset_needs_no_second_code(store):
    holder = natural(store.database, "zhaoliu", state=RealnameState.VERIFIED_ONLINE)
    conversation = Conversation(store.engine(), "registered_id")
    conversation.start()
    assert "证件号码" in conversation.text
    conversation.say(ID_NUMBER)
    assert conversation.ask == "verification_code" and HIDDEN_PHONE in conversation.text
    assert mask_login_name("zhaoliu") not in "\n".join(conversation.texts)
    assert mask_phone(PHONE) not in "\n".join(conversation.texts)
    conversation.say(store.code(PHONE))
    assert conversation.done
    assert mask_login_name("zhaoliu") in conversation.text and mask_phone(PHONE) in conversation.text
    assert RESET_BUTTON in conversation.buttons
    verified_account = conversation.slots["verified_account"]
    assert verified_account.startswith(f"{holder}|")

    # The reset button starts the reset flow; the flow slots are cleared, the identity is kept.
    reset = Conversation(store.engine(), "reset", verified_account=verified_account)
    reset.start()
    assert reset.done and "reset?token=" in reset.text and mask_login_name("zhaoliu") in reset.text
    assert store.codes_sent() == 1


def test_registered_id_not_held_by_anyone_answers_as_a_held_one(lite):
    natural(lite.database, "zhaoliu")
    held = steps_of(lite, "registered_id", [ID_NUMBER, "000000", "重发"], "held")
    free = steps_of(lite, "registered_id", [OTHER_ID, "000000", "重发"], "free")
    assert held == free and held[0][2] == "verification_code"
    assert lite.codes_sent() == 2 and lite.codes_sent(PHONE) == 2


def test_registered_unit_unknown_or_former_name_answers_as_a_known_one(lite):
    admin = account(lite.database, "unit_admin", kind=AccountKind.LEGAL)
    unit(lite.database, admin, "北京新名科技有限公司", former_names=("北京旧名科技有限公司",))
    seen = [steps_of(lite, "registered_unit", [name, "000000"], f"unit-{index}")
            for index, name in enumerate(("北京新名科技有限公司", "北京旧名科技有限公司", "北京没有科技有限公司",
                                          CREDIT_CODE, UNKNOWN_CREDIT_CODE))]
    assert all(steps == seen[0] for steps in seen)
    # The former name is told once the code is entered.
    conversation = Conversation(lite.engine(), "registered_unit", sender="unit-renamed")
    conversation.start()
    lite.clock.advance(minutes=2)
    conversation.say("北京旧名科技有限公司")
    conversation.say(lite.code(PHONE))
    assert conversation.done and "改名前的名称" in conversation.text


def test_verified_identity_expires_after_thirty_minutes(lite):
    natural(lite.database, "zhaoliu")
    conversation = Conversation(lite.engine(), "registered_id")
    conversation.start()
    conversation.say(ID_NUMBER)
    conversation.say(lite.code(PHONE))
    lite.clock.advance(minutes=31)
    reset = Conversation(lite.engine(), "reset", verified_account=conversation.slots["verified_account"])
    reset.start()
    assert reset.ask == "account_ref"


# -- registration check -------------------------------------------------------------------------

def test_registration_check_existing_login_is_told_after_the_code(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "registration")
    conversation.start()
    conversation.say("zhangsan")
    assert conversation.ask == "verification_code" and "注册成功" not in conversation.text
    conversation.say(lite.code(PHONE))
    assert conversation.done and "注册成功" in conversation.text


def test_registration_check_unknown_login_answers_as_an_existing_one(lite):
    account(lite.database, "zhangsan")
    registered = steps_of(lite, "registration", ["zhangsan", "000000"], "registered")
    unregistered = steps_of(lite, "registration", ["nobody_here", "000000"], "unregistered")
    assert registered == unregistered
    assert "重新注册" in registered[0][0]  # what a code that never comes means


# -- Torch centre ---------------------------------------------------------------------------------

def test_torch_case_three_explains_the_hj_login_name(store):
    login = "HJ_" + CREDIT_CODE
    account(store.database, login, kind=AccountKind.LEGAL, torch_case=3, torch_key=CREDIT_CODE)
    conversation = Conversation(store.engine(), "torch")
    conversation.start()
    conversation.say(CREDIT_CODE.lower())
    assert conversation.ask == "verification_code"
    assert "HJ_" not in "\n".join(conversation.texts)
    conversation.say(store.code(PHONE))
    assert conversation.done
    assert mask_login_name(login) in conversation.text and "HJ_ 加原用户名" in conversation.text
    assert "法人登录" in conversation.text
    assert login not in conversation.text


def test_torch_unknown_code_answers_as_a_known_one(lite):
    account(lite.database, "HJ_" + CREDIT_CODE, kind=AccountKind.LEGAL, torch_case=3, torch_key=CREDIT_CODE)
    known = steps_of(lite, "torch", [CREDIT_CODE, "000000"], "torch-known")
    unknown = steps_of(lite, "torch", [UNKNOWN_CREDIT_CODE, "000000"], "torch-unknown")
    assert known == unknown and known[0][2] == "verification_code"


# -- appeal status ---------------------------------------------------------------------------------

def file_appeal(store: Store, sender: str, phone: str = NEW_PHONE):
    draft = AppealDraft(kind=AccountKind.NATURAL, phone=phone, front_upload_id=store.upload(sender),
                        back_upload_id=store.upload(sender), person_name="张三", doc_type="居民身份证",
                        doc_number=ID_NUMBER)
    return store.service.create_appeal(draft, sender)


def test_appeal_status_of_this_conversation_is_shown_at_once(store):
    appeal = file_appeal(store, SENDER)
    conversation = Conversation(store.engine(), "appeal_status")
    conversation.start()
    assert conversation.done
    assert f"申诉 {appeal.number}（2026-11-24 06:00 北京时间 提交）：审核中" in conversation.text
    assert store.codes_sent() == 0


def test_appeal_status_filed_elsewhere_needs_the_phone_and_a_code(lite):
    appeal = file_appeal(lite, "kiosk-7")
    lite.service.decide_appeal(appeal.number, False, "照片不清晰", "back-office")
    conversation = Conversation(lite.engine(), "appeal_status")
    conversation.start()
    assert conversation.ask == "account_ref"
    conversation.say(NEW_PHONE)
    assert conversation.ask == "verification_code" and appeal.number not in conversation.text
    conversation.say(lite.code(NEW_PHONE))
    assert conversation.done
    assert f"申诉 {appeal.number}" in conversation.text and "未通过，原因：照片不清晰" in conversation.text


def test_appeal_status_unknown_phone_or_document_answers_as_a_known_one(lite):
    file_appeal(lite, "kiosk-7")
    seen = [steps_of(lite, "appeal_status", [reference, "000000"], f"status-{index}")
            for index, reference in enumerate((NEW_PHONE, "13512345678", ID_NUMBER, OTHER_ID))]
    assert all(steps == seen[0] for steps in seen)
    assert HIDDEN_PHONE in seen[0][0][0] and mask_phone(NEW_PHONE) not in seen[0][0][0]
    assert lite.codes_sent() == 2 and lite.codes_sent(NEW_PHONE) == 2


# -- interruptions --------------------------------------------------------------------------------------

@pytest.fixture
def engine(lite) -> FlowEngine:
    return lite.engine()


@pytest.mark.parametrize("slot", FLOW_SLOTS)
def test_cancel_interrupts_every_question(engine, slot):
    outcome = engine.answer({"flow": "appeal"}, slot, Turn(text="取消", intent="cancel", confidence=0.9,
                                                             sender_id=SENDER))
    assert outcome.rejected and outcome.messages == [] and outcome.slots == {}


def test_faq_sentence_at_the_account_reference_interrupts(engine):
    outcome = engine.answer({"flow": "registered_id"}, "account_ref",
                            Turn(text="密码的要求是什么？", intent="faq", confidence=0.9, sender_id=SENDER))
    assert outcome.rejected


def test_id_number_is_an_answer_even_if_nlu_said_faq(lite, engine):
    natural(lite.database, "zhaoliu")
    outcome = engine.answer({"flow": "registered_id"}, "account_ref",
                            Turn(text=ID_NUMBER, intent="faq", confidence=0.9, sender_id=SENDER))
    assert not outcome.rejected
    assert outcome.ask == "verification_code" and outcome.slots["account_ref"] == "given"


def test_code_is_an_answer_even_if_nlu_said_faq(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    conversation.say(lite.code(PHONE), intent="faq", confidence=0.9)
    assert conversation.done and "reset?token=" in conversation.text


def test_cancel_at_the_name_is_an_interruption(engine):
    slots = {"flow": "appeal", "account_kind": "natural"}
    outcome = engine.answer(slots, "person_name", Turn(text="取消", intent="cancel", confidence=0.9, sender_id=SENDER))
    assert outcome.rejected


def test_name_that_nlu_half_took_for_a_question_is_a_name(engine):
    slots = {"flow": "appeal", "account_kind": "natural"}
    outcome = engine.answer(slots, "person_name", Turn(text="王芳", intent="faq", confidence=0.65, sender_id=SENDER))
    assert not outcome.rejected
    # The conversation store gets the name masked (the engine keeps it in full).
    assert outcome.slots["person_name"] == "王*" and outcome.ask == "doc_type"


def test_another_problem_at_the_code_switches_flows(engine):
    slots = {"flow": "reset", "flow_data": {"target": 1, "code_phone": PHONE, "purpose": "reset"}}
    outcome = engine.answer(slots, "verification_code",
                            Turn(text="手机号不用了", intent="forgot_login_name", confidence=0.9, sender_id=SENDER))
    assert outcome.rejected


def test_a_photo_is_never_an_interruption(lite, engine):
    slots = {"flow": "appeal", "account_kind": "natural", "person_name": "张三", "doc_type": "居民身份证",
             "doc_number": ID_NUMBER, "phone": NEW_PHONE}
    upload_id = lite.upload()
    outcome = engine.answer(slots, "photo_front", Turn(text="取消", intent="cancel", confidence=0.9,
                                                       metadata={"upload_id": upload_id}, sender_id=SENDER))
    assert not outcome.rejected and outcome.slots["photo_front"] == upload_id


def test_resume_after_an_interruption_asks_the_same_question_again(engine):
    outcome = engine.resume({"flow": "appeal", "account_kind": "natural"}, "person_name", SENDER)
    assert outcome.ask == "person_name" and not outcome.done
    assert outcome.messages == [{"text": "请告诉我证件上的姓名。"}]


def test_realname_never_checked_online_is_told_to_save_first_not_to_upload(lite):
    natural(lite.database, state=RealnameState.UNVERIFIED)
    conversation = verified(lite, "realname", "zhangsan")
    assert conversation.done
    assert "还没有提交过在线核验" in conversation.text and "保存" in conversation.text
    assert conversation.ask is None


def test_lost_reserved_phone_at_the_code_step_ends_with_the_appeal_advice(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    assert conversation.ask == "verification_code"
    conversation.say("这个手机号已经停机了")
    assert conversation.done
    assert "申诉找回" in conversation.text


def test_renamed_unit_appeal_asks_for_sealed_copies_and_the_rename_statement(lite):
    admin = account(lite.database, "unit_admin", kind=AccountKind.LEGAL, phone=None)
    unit(lite.database, admin, "北京新名科技有限公司", former_names=("北京旧名科技有限公司",))
    conversation = Conversation(lite.engine(), "appeal")
    conversation.start()
    conversation.say("单位账号")
    conversation.say("北京旧名科技有限公司")
    conversation.say("李四")
    conversation.say(NEW_PHONE)
    assert conversation.ask == "photo_front" and "加盖公章" in conversation.text
    conversation.upload(lite.upload())
    assert conversation.ask == "photo_back" and "变更声明" in conversation.text


# -- values the user already gave (issue 10) ------------------------------------------------------

def start_with(conversation: Conversation, text: str, **values: str) -> Outcome:
    """The flow starts on a first message that carried ``values`` (as the NLU extracts them)."""
    return conversation._take(conversation.engine.start(
        conversation.slots, Turn(text=text, sender_id=conversation.sender, values=values)))


def test_a_login_name_in_the_first_message_is_not_asked_for_again(lite):
    account(lite.database, "zhangwei_01")
    conversation = Conversation(lite.engine(), "reset")
    start_with(conversation, "忘记密码了，登录名是 zhangwei_01", login_name="zhangwei_01")
    assert conversation.ask == "verification_code"
    assert "登录名" not in conversation.text.split("验证码")[0]  # the code went out, nothing asked
    conversation.say(lite.code(PHONE))
    assert conversation.done and "reset?token=" in conversation.text


def test_an_unknown_login_name_in_the_first_message_is_answered_as_a_known_one(lite):
    account(lite.database, "zhangsan")
    unknown = Conversation(lite.engine(), "reset", sender="first-unknown")
    start_with(unknown, "密码忘了 登录名 nobody_here", login_name="nobody_here")
    known = Conversation(lite.engine(), "reset", sender="first-known")
    start_with(known, "密码忘了 登录名 zhangsan", login_name="zhangsan")
    assert unknown.ask == known.ask == "verification_code"
    assert unknown.text == known.text and "如果账号存在" in unknown.text
    assert lite.codes_sent() == 1


def test_an_id_number_in_the_first_message_starts_the_lookup(lite):
    natural(lite.database, "zhaoliu")
    conversation = Conversation(lite.engine(), "registered_id")
    start_with(conversation, f"注册说身份证号 {ID_NUMBER} 已被注册", id_number=ID_NUMBER, doc_type="居民身份证")
    assert conversation.ask == "verification_code"


def test_the_system_named_in_the_first_message_is_not_asked_for(lite, unit_admin):
    unit_admin(lite)
    account(lite.database, "liming_kj", state=RealnameState.VERIFIED_ONLINE)
    conversation = Conversation(lite.engine(), "grant")
    start_with(conversation, "高企系统没有权限 登录名 liming_kj", login_name="liming_kj", system="high_tech")
    assert conversation.ask == "verification_code"
    conversation.say(lite.code(PHONE))
    assert conversation.done
    assert "没有任何单位授予的“高新技术企业认定管理系统”权限" in conversation.text


@pytest.mark.parametrize("login_name", ["sz_unit", "stop_it", "cancel_01", "quxiao"])
def test_a_bare_login_name_is_the_answer_even_if_nlu_read_it_as_cancel(lite, login_name):
    account(lite.database, login_name)
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    outcome = conversation.say(login_name, intent="cancel", confidence=0.97)
    assert not outcome.rejected
    assert conversation.ask == "verification_code"


def test_a_second_lookup_with_a_new_value_looks_the_new_account_up(lite):
    first, second = CREDIT_CODE, "91110108MA02EFGH3Y"
    account(lite.database, "HJ_" + first, kind=AccountKind.LEGAL, torch_case=3, torch_key=first)
    account(lite.database, "HJ_" + second, kind=AccountKind.LEGAL, torch_case=3, torch_key=second,
            phone=ADMIN_PHONE)
    conversation = Conversation(lite.engine(), "torch")
    start_with(conversation, f"查一下火炬中心的单位账号，信用代码是 {first}", credit_code=first)
    conversation.say(lite.code(PHONE))
    assert conversation.done and mask_login_name("HJ_" + first) in conversation.text

    lite.clock.advance(minutes=2)  # one code a minute per conversation
    again = Conversation(lite.engine(), "torch", verified_account=conversation.slots["verified_account"])
    start_with(again, f"再查一下火炬中心的单位账号，信用代码是 {second}", credit_code=second)
    assert again.ask == "verification_code", again.text  # the new account needs its own code
    assert mask_login_name("HJ_" + first) not in again.text
    again.say(lite.code(ADMIN_PHONE))
    assert again.done and mask_login_name("HJ_" + second) in again.text


def test_the_same_account_again_needs_no_second_code(lite):
    account(lite.database, "HJ_" + CREDIT_CODE, kind=AccountKind.LEGAL, torch_case=3, torch_key=CREDIT_CODE)
    conversation = Conversation(lite.engine(), "torch")
    start_with(conversation, CREDIT_CODE, credit_code=CREDIT_CODE)
    conversation.say(lite.code(PHONE))
    lite.clock.advance(minutes=2)  # one code a minute per conversation
    again = Conversation(lite.engine(), "torch", verified_account=conversation.slots["verified_account"])
    start_with(again, CREDIT_CODE, credit_code=CREDIT_CODE)
    assert again.done and lite.codes_sent(PHONE) == 1
