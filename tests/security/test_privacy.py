"""Identity data kept minimal (issue 12 item 5, docs/security.md section 11), against the real
Rasa and action servers: after a conversation in which the user typed an ID number, a phone and
a name, and presented the platform's identity token, none of them is in the conversation store
(Rasa's SQL tracker store, read straight from its table); the flow still did its work with the
full values; and the privacy notice came before the first question for an identity number.
Each test fails if its protection is removed (the tracker store back to Rasa's ``SQL`` type, the
flows sending slots unmasked, the notice left out)."""
import json
import re
import sqlite3
from typing import List

import pytest

from bot.accounts import identity
from bot.accounts.masking import mask_document, mask_name, mask_phone
from tests.accounts.test_account_flows_e2e import Chat, png
from tests.security.conftest import AUDIENCE, IDENTITY_TOKEN_SECRET

pytestmark = pytest.mark.integration

ID_NUMBER = "110101199003074514"
OTHER_PHONE = "13512345678"
PHONE = "13912345678"
NAME = "欧阳明远"
RESET_LINK = re.compile(r"/webhooks/account/reset\?token=")
NOTICE = "个人信息提示"


def stored_events(assistant, sender: str) -> List[str]:
    """Every event of the conversation as Rasa's tracker store holds it (the raw JSON)."""
    path = assistant.overrides["DATABASE_URL"][len("sqlite:///"):]
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id IN (?, ?) ORDER BY id",
                                  (sender, f"rest:{sender}")).fetchall()
    assert rows, "the conversation is not in the tracker store"
    return [row[0] for row in rows]


def stored_text(assistant, sender: str) -> str:
    """The stored events decoded (JSON escapes the Chinese), one string to search."""
    return "\n".join(json.dumps(json.loads(data), ensure_ascii=False) for data in stored_events(assistant, sender))


def test_id_numbers_phones_and_names_reach_the_conversation_store_masked(assistant, accounts):
    chat = Chat(assistant)
    # A first message carrying an ID number (the appeal takes it as the document) and a phone ...
    chat.say(f"我忘记登录名了，身份证号{ID_NUMBER}，以前的手机{OTHER_PHONE}")
    # ... then the appeal's remaining questions answered one by one.
    assert "姓名" in chat.say("个人账号")
    assert "手机号" in chat.say(NAME)
    assert "正面" in chat.say(PHONE)

    stored = stored_text(assistant, chat.sender)
    for secret in (ID_NUMBER, PHONE, OTHER_PHONE, NAME):
        assert secret not in stored, f"{secret} is in the conversation store"
    # What is there instead: the masks (the conversation stays readable).
    for secret, mask in ((ID_NUMBER, mask_document), (PHONE, mask_phone), (OTHER_PHONE, mask_phone), (NAME, mask_name)):
        assert mask(secret) in stored
    # The flow works on the full values, kept server-side for this conversation.
    kept = accounts.kept_values(f"rest:{chat.sender}")
    assert (kept["person_name"], kept["doc_number"], kept["phone"]) == (NAME, ID_NUMBER, PHONE)


def test_the_appeal_is_filed_with_the_full_values_while_the_store_holds_masks(assistant, accounts):
    chat = Chat(assistant)
    for text in ("忘记登录名了", "个人账号", NAME, "居民身份证", ID_NUMBER, PHONE):
        chat.say(text)
    chat.send_photo(png("white"))
    chat.send_photo(png("gray"))
    code = re.search(r"验证码是 (\d{6})", accounts.outbox(phone=PHONE)[0].text).group(1)
    answer = chat.say(code)
    assert "申诉已提交" in answer, answer

    [appeal] = [appeal for appeal in accounts.appeals_for(phone=PHONE) if appeal.sender_id == f"rest:{chat.sender}"]
    assert (appeal.person_name, appeal.doc_number, appeal.phone) == (NAME, ID_NUMBER, PHONE)
    stored = stored_text(assistant, chat.sender)
    assert ID_NUMBER not in stored and PHONE not in stored and NAME not in stored
    # The flow is over: what it kept server-side is gone too.
    assert not set(accounts.kept_values(f"rest:{chat.sender}")) & {"phone", "doc_number", "person_name", "code_phone"}


def test_the_identity_token_is_used_but_never_stored(assistant, accounts, victim):
    chat = Chat(assistant)
    token = identity.sign(victim.login_name, IDENTITY_TOKEN_SECRET, AUDIENCE)
    assert RESET_LINK.search(chat.say("忘记密码了", identity_token=token))
    chat.say("你好", identity_token=token)
    stored = "\n".join(stored_events(assistant, chat.sender))
    assert token not in stored and token.split(".")[-1] not in stored
    assert "identity_token" not in stored


def test_the_privacy_notice_comes_once_before_the_first_identity_question(assistant):
    chat = Chat(assistant)
    first = chat.say("提示证件号已被注册了怎么办")
    assert NOTICE in first and "30 天" in first, first
    assert first.index(NOTICE) < first.rindex("证件号码")
    chat.say("取消")
    again = chat.say("提示证件号已被注册了怎么办")
    assert "证件号码" in again and NOTICE not in again, again
