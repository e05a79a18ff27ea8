"""Attacks on lookups and SMS codes, against the real Rasa and action servers
(issue 12, item 3: "No enumeration and no SMS abuse"); docs/security.md section 8.

Before, the assistant told anyone whether a login name, document, unit or
registration existed ("没有找到登录名为…的账号", "平台上没有账号登记这个证件号码",
"查到了：这个账号已经注册成功"), showed the account's masked phone, and sent as
many codes as it was asked for from as many conversations as the asker opened.
Each attack here compares what a user observes (every reply's text and buttons)
or counts the SMS that went out.

The server trusts 127.0.0.1 as its proxy (``TRUSTED_PROXIES``), so each attack
names its clients' addresses in ``X-Forwarded-For``, as a proxy would.
"""
import itertools
import json
import re
import urllib.request
import uuid
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from sqlalchemy import select

from bot.accounts.flows.verification import HIDDEN_PHONE
from bot.accounts.models import Account, AccountKind, RealnameState, Unit
from tests.assistants import RESULTS

pytestmark = pytest.mark.integration

ADDRESSES = (f"198.51.100.{index}" for index in itertools.count(1))
ID_NUMBER = "110101199003074514"
UNKNOWN_ID_NUMBER = "440305198808153023"
CREDIT_CODE = "91110108MA01ABCD2X"
OTHER_CREDIT_CODE = "91110106MA03TRCH2R"
UNIT_NAME = "北京枚举测试科技有限公司"


def say(assistant, sender: str, text: str, address: str, metadata: Optional[Dict[str, Any]] = None
        ) -> List[Dict[str, Any]]:
    """One REST message from a client at ``address`` (named by the trusted proxy); the replies."""
    body = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
    request = urllib.request.Request(assistant.running.rest_webhook, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Forwarded-For": address,
                                              "Authorization": f"Bearer {assistant.rest_token}"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def observed(replies: List[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """What the user sees of the replies: texts and buttons (not whom they were addressed to).

    A wait in seconds ("请 59 秒后再让我重新发送") counts down with the clock from the conversation's
    last code, found or not: it says when the user asked, so it is read as "N 秒"."""
    return [(re.sub(r"\d+ 秒", "N 秒", reply.get("text") or ""),
             json.dumps(reply.get("buttons") or [], ensure_ascii=False)) for reply in replies]


def conversation(assistant, messages: Sequence[str], address: Optional[str] = None) -> List[Any]:
    """A fresh conversation saying ``messages``; everything it was answered."""
    sender, address = f"enum-{uuid.uuid4().hex[:12]}", address or next(ADDRESSES)
    return [observed(say(assistant, sender, text, address)) for text in messages]


def texts(seen: List[Any]) -> str:
    return "\n".join(text for step in seen for text, _ in step)


def codes_to(accounts, phone: str) -> int:
    return sum("验证码是" in message.text for message in accounts.outbox(phone=phone, limit=1000))


def person(accounts, login_name: str, phone: Optional[str]) -> None:
    """An account of its own for an attack (each phone gets at most SMS_LIMIT_PER_PHONE codes an hour)."""
    with accounts.db.session() as session:
        session.add(Account(kind=AccountKind.NATURAL, login_name=login_name, password_hash="unused", phone=phone,
                            realname_state=RealnameState.UNVERIFIED, created_at=datetime(2026, 1, 5)))


@pytest.fixture(scope="module")
def existing(accounts) -> None:
    """An account for each case (one phone each: a phone gets one code a minute), two of them units."""
    with accounts.db.session() as session:
        for login_name, phone, kind, doc_number in (
                ("enum_reset", "13012345681", AccountKind.NATURAL, None),
                ("enum_registered", "13012345687", AccountKind.NATURAL, None),
                ("enum_document", "13012345688", AccountKind.NATURAL, ID_NUMBER),
                ("enum_unit", "13012345682", AccountKind.LEGAL, None),
                ("enum_unit_code", "13012345689", AccountKind.LEGAL, None)):
            session.add(Account(kind=kind, login_name=login_name, password_hash="unused", phone=phone,
                                doc_type="居民身份证" if doc_number else None, doc_number=doc_number,
                                realname_state=RealnameState.VERIFIED_ONLINE, created_at=datetime(2026, 1, 5)))
        session.flush()
        for login_name, name, code in (("enum_unit", UNIT_NAME, CREDIT_CODE),
                                       ("enum_unit_code", "北京枚举测试二号有限公司", OTHER_CREDIT_CODE)):
            owner = session.execute(select(Account).where(Account.login_name == login_name)).scalar_one()
            session.add(Unit(account_id=owner.id, name=name, credit_code=code, legal_type="企业法人", region="境内"))


# Each flow's start, then the reference, a wrong code, "重发" and another wrong code: found vs not found.
CASES = {
    "login name (reset)": ("/forgot_password", "enum_reset", "enum_nobody", "13012345681"),
    "login name (registration check)": ("/check_registration", "enum_registered", "enum_never_registered",
                                        "13012345687"),
    "document": ("/id_already_registered", ID_NUMBER, UNKNOWN_ID_NUMBER, "13012345688"),
    "unit name": ("/unit_already_registered", UNIT_NAME, "北京根本不存在科技有限公司", "13012345682"),
    "credit code": ("/unit_already_registered", OTHER_CREDIT_CODE, "91110108MA01ABCD3Y", "13012345689"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_login_name_document_or_unit_that_does_not_exist_is_answered_as_one_that_does(
        assistant, accounts, existing, case):
    start, found, missing, phone = CASES[case]
    steps = [start, "{ref}", "000000", "重发", "123456"]
    answers_found = conversation(assistant, [step.format(ref=found) for step in steps])
    answers_missing = conversation(assistant, [step.format(ref=missing) for step in steps])
    assert answers_found == answers_missing  # every text and button of every reply, step by step
    assert codes_to(accounts, phone) == 1  # the code went out, to the account's phone only
    assert HIDDEN_PHONE in texts(answers_found) and phone[-4:] not in texts(answers_found)


def test_an_account_without_a_phone_is_answered_as_one_with(assistant, accounts, existing):
    person(accounts, "enum_no_phone", None)
    person(accounts, "enum_with_phone", "13012345684")
    steps = ["/forgot_password", "{ref}", "000000"]
    without = conversation(assistant, [step.format(ref="enum_no_phone") for step in steps])
    with_phone = conversation(assistant, [step.format(ref="enum_with_phone") for step in steps])
    assert without == with_phone


def test_many_conversations_cannot_flood_one_phone_nor_learn_from_the_limit(assistant, accounts):
    """Seven conversations from seven addresses ask for the same account's code: the phone gets one
    (a minute; SMS_LIMIT_PER_PHONE an hour), and every asker is answered as if the account did not exist."""
    person(accounts, "enum_flooded", "13012345683")
    floods = [conversation(assistant, ["/forgot_password", "enum_flooded"]) for _ in range(7)]
    # One a minute per phone, SMS_LIMIT_PER_PHONE (5) an hour: seven askers within a minute get one SMS sent.
    assert 1 <= codes_to(accounts, "13012345683") <= 5
    nobody = conversation(assistant, ["/forgot_password", "enum_nobody_at_all"])
    assert all(flood == nobody for flood in floods)


def test_one_conversation_gets_one_code_a_minute_and_a_limited_number_of_lookups(assistant, accounts, existing):
    """One conversation names target after target (LOOKUP_LIMIT_PER_CONVERSATION is 10)."""
    person(accounts, "enum_lookups", "13012345686")
    sender, address = f"enum-{uuid.uuid4().hex[:12]}", next(ADDRESSES)
    before = sum(1 for message in accounts.outbox(limit=1000) if "验证码是" in message.text)
    answers = []
    for index in range(11):
        say(assistant, sender, "/forgot_password", address)
        answers.append(observed(say(assistant, sender, "enum_lookups" if index % 2 else f"enum_x{index}", address)))
    after = sum(1 for message in accounts.outbox(limit=1000) if "验证码是" in message.text)
    assert after - before <= 1  # one code a minute per conversation, to whichever target
    assert "验证码刚刚发过" in texts([answers[1]])
    assert all("查询太频繁了" not in texts([answer]) for answer in answers[:10])
    assert "查询太频繁了" in texts([answers[10]])


def test_no_code_ever_reaches_the_servers_log(assistant, accounts, existing):
    """A user verifies by code; neither that code nor any other sent so far is in the log file."""
    person(accounts, "enum_logged", "13012345685")
    sender, address = f"enum-{uuid.uuid4().hex[:12]}", next(ADDRESSES)
    say(assistant, sender, "/forgot_password", address)
    say(assistant, sender, "enum_logged", address)
    code = re.search(r"验证码是 (\d{6})", accounts.outbox(phone="13012345685", limit=1)[0].text).group(1)
    assert "reset?token=" in texts([observed(say(assistant, sender, code, address))])
    log = (RESULTS / "security-servers.log").read_text(encoding="utf-8", errors="replace")
    assert "SMS reset to" in log  # the sending is logged ...
    sent = {match for message in accounts.outbox(limit=1000)
            for match in re.findall(r"验证码是 (\d{6})", message.text)}
    assert code in sent
    assert [code for code in sent if code in log] == []  # ... never a code
