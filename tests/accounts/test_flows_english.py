"""The account flows in English (issue 15): a conversation whose ``language`` slot is
``en`` hears every question, answer, button title and refusal in English, with
the same facts as the Chinese one, formatted from the same constants and
settings; the Chinese conversation is unchanged (tests/accounts/test_flows.py).

The conversations are driven like those of test_flows.py (its ``Conversation``
and SQLite ``lite`` store)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from actions.account_flows import values_of
from bot import config
from bot.accounts import checks
from bot.accounts.checks import InvalidInput
from bot.accounts.diagnosis import review_duration
from bot.accounts.flows import APPEAL_BUTTON, FLOW_SLOTS, FLOWS, HUMAN_BUTTON, RESET_BUTTON, Context
from bot.accounts.flows import reset as reset_flow
from bot.accounts.flows.prompts import APPEAL, HUMAN, RESET, button, privacy_notice, prompt
from bot.accounts.flows.verification import HIDDEN_PHONE
from bot.accounts.masking import mask_phone
from bot.accounts.labels import REALNAME_STATE_KEYS, REALNAME_STATE_LABELS, realname_state_label
from bot.accounts.models import Decision, RealnameState
from bot.accounts.service import CODE_LIFETIME, CODE_MAX_WRONG_TRIES, RESET_LINK_LIFETIME, REVIEW_DURATION, REVIEW_WORKING_DAYS, minutes_of
from bot.accounts.systems import ROLE_KEYS, SYSTEM_NAME_KEYS, SYSTEMS, find_system
from bot.accounts.uploads import check_image, megabytes, upload_refusals
from bot.language import tr
from bot.nlu.text_channels import ValueExtractor
from tests.accounts.test_flow_table import SLOT_VARIANTS
from tests.accounts.test_flows import (  # noqa: F401  (lite, unit_admin: fixtures)
    ADMIN_PHONE,
    ID_BAD_CHECKSUM,
    ID_NUMBER,
    PHONE,
    SENDER,
    ZHANGSAN,
    Conversation,
    Store,
    account,
    grant,
    lite,
    natural,
    start_with,
    state_of,
    unit_admin,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
# Words only a Chinese sentence has: a Chinese UI label kept beside its English gloss has none.
CHINESE_SENTENCE = re.compile(r"[请您的。，？！]")


def is_english(text: str) -> bool:
    """An English sentence: Latin words, Chinese only in the platform's own labels (few characters)."""
    latin = len(re.findall(r"[A-Za-z]", text))
    return latin > 0 and not CHINESE_SENTENCE.search(text) and len(CJK.findall(text)) * 2 < latin


def english(store: Store, flow: str, **slots: Any) -> Conversation:
    return Conversation(store.engine(), flow, language="en", **slots)


def verified_in_english(store: Store, flow: str, reference: str) -> Conversation:
    conversation = english(store, flow)
    conversation.start()
    conversation.say(reference)
    assert conversation.ask == "verification_code", conversation.text
    conversation.say(store.code(PHONE))
    return conversation


# -- the password reset ------------------------------------------------------------------


@pytest.mark.parametrize("first_message", [
    "I forgot my password, my login name is annak",
    "forgot password. Username: annak",
    "my user name is annak and the password is not accepted",
    "我忘记密码了 please help, login name is annak",
])
def test_a_login_name_in_an_english_first_message_is_not_asked_for_again(lite, first_message):
    # The values as the NLU pipeline gives them to the flows (actions/account_flows.values_of).
    account(lite.database, "annak")
    message = Message(data={"text": first_message})
    ValueExtractor().process([message])
    conversation = english(lite, "reset")
    start_with(conversation, first_message, **values_of(message.as_dict()))
    assert conversation.ask == "verification_code", conversation.text
    assert HIDDEN_PHONE in conversation.text and lite.codes_sent(PHONE) == 1


def test_english_password_reset_from_login_name_to_link(lite, monkeypatch):
    # The link's lifetime is formatted from the constant: changed, the message follows.
    monkeypatch.setattr(reset_flow, "RESET_LINK_LIFETIME", timedelta(minutes=20))
    account(lite.database, "zhangsan")
    conversation = english(lite, "reset")
    conversation.start()
    assert conversation.ask == "account_ref"
    assert "login name" in conversation.text and conversation.text.endswith('say "cancel" at any time.)')
    assert is_english(conversation.text), conversation.text

    conversation.say("my login name is zhangsan")  # the English lead-in is no part of the name
    assert conversation.ask == "verification_code"
    assert HIDDEN_PHONE in conversation.text
    assert f"valid for {minutes_of(CODE_LIFETIME)} minutes" in conversation.text
    assert "I no longer use that phone" in conversation.text
    assert is_english(conversation.text), conversation.text

    lite.clock.advance(seconds=61)  # one code a minute per phone
    conversation.say("I didn't get the code")  # English resend words
    assert conversation.ask == "verification_code"
    assert f"new code to {HIDDEN_PHONE}" in conversation.text and "6-digit code" in conversation.text
    assert lite.codes_sent(PHONE) == 2

    conversation.say("code: 000000" if lite.code(PHONE) != "000000" else "code: 111111")  # a wrong code
    assert conversation.ask == "verification_code"
    assert conversation.text.startswith(
        f"The code is not correct; you can try {CODE_MAX_WRONG_TRIES - 1} more times."
    ), conversation.text

    conversation.say(lite.code(PHONE))
    assert conversation.done
    assert conversation.outcome.messages[0]["text"] == "Thank you, you're verified."
    link_message = conversation.outcome.messages[-1]["text"]
    assert "within 20 minutes" in link_message
    assert re.search(r"/webhooks/account/reset\?token=[A-Za-z0-9_\-]{40,}", link_message)
    assert ZHANGSAN in link_message and "works once only" in link_message
    assert "at least 8 characters" in link_message  # the password rule, in English
    assert "新密码" in link_message and "page is in Chinese" in link_message  # what the Chinese page shows
    assert "never in this chat" in link_message
    assert is_english(link_message.replace(link_message.split("\n")[1], "")), link_message


def test_the_same_reset_in_chinese_says_what_it_always_said(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    conversation.say(lite.code(PHONE))
    assert f"请在 {minutes_of(RESET_LINK_LIFETIME)} 分钟内打开下面的链接" in conversation.text
    assert checks.PASSWORD_RULE in conversation.text and conversation.texts[-2] == "验证通过。"


def test_english_lost_phone_ends_with_the_appeal_and_the_review_time(lite):
    account(lite.database, "zhangsan")
    conversation = english(lite, "reset")
    conversation.start()
    conversation.say("zhangsan")
    conversation.say("I no longer use that phone number")
    assert conversation.done
    assert "recover the account by appeal" in conversation.text
    assert f"1–{REVIEW_WORKING_DAYS} working days" in conversation.text and is_english(conversation.text)


# -- the real-name diagnosis with photos -------------------------------------------------------


def test_english_realname_diagnosis_asks_for_the_photos_and_opens_the_review(lite):
    account_id = natural(lite.database, doc_type="境外护照", doc_number="E12345678", name="JOHN SMITH")
    conversation = verified_in_english(lite, "realname", "zhangsan")
    assert conversation.ask == "photo_front"
    texts = [message["text"] for message in conversation.outcome.messages]
    assert texts[0] == "Thank you, you're verified."
    assert "Your account's current status: 实名认证失败 (real-name verification failed)." in texts
    assert any("Foreign passport (境外护照)" in text and "not verified online" in text for text in texts)
    assert any("上传自然人信息 (Upload personal information)" in text for text in texts)
    assert any(f"about 1–{REVIEW_WORKING_DAYS} working days" in text for text in texts)
    # The privacy notice came before the first question for a document number (the account's).
    notice = conversation.texts[0]
    assert notice == privacy_notice("en") and f"after {config.get_int('RETENTION_DAYS')} days" in notice
    question = texts[-1]  # the photo question, with the upload rule from the setting
    limit = megabytes(config.get_int("MAX_UPLOAD_BYTES"))
    assert question == f"Please upload a photo of the front of your document, signed by you (jpg, jpeg or png, at most {limit} MB)."
    assert all(is_english(text) for text in texts), texts

    conversation.say("here it is")  # text where a photo is asked
    assert conversation.text.startswith("This step needs a photo upload, not text.")
    assert conversation.ask == "photo_front"
    first = lite.upload()
    conversation.upload(first)
    assert conversation.ask == "photo_back"
    assert conversation.text.startswith("Please upload a photo of the back of your document")
    conversation.upload(first)
    assert conversation.text.startswith("You've just uploaded this photo; please upload the other side.")
    conversation.upload(lite.upload())
    assert conversation.done
    assert "I've submitted your photos for manual review" in conversation.text
    assert realname_state_label(RealnameState.IN_REVIEW, "en") in conversation.text
    assert is_english(conversation.text)
    assert state_of(lite.database, account_id) == RealnameState.IN_REVIEW


def test_english_realname_on_another_account_offers_the_appeal_button_with_an_english_title(lite):
    natural(lite.database, "wangwu")
    natural(lite.database, "wangwu_2019", state=RealnameState.VERIFIED_ONLINE, phone="13500135000")
    conversation = verified_in_english(lite, "realname", "wangwu")
    assert conversation.done
    assert conversation.buttons == [{"title": "Recover the account by appeal", "payload": APPEAL_BUTTON["payload"]}]
    assert "登录名重置密码 (Reset by login name)" in conversation.text


# -- grants ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("admin_phone", [ADMIN_PHONE, None])
def test_english_expired_grant_and_the_sms_to_the_admin(lite, unit_admin, admin_phone):
    unit_id = unit_admin(lite, admin_phone=admin_phone)
    person = account(lite.database, "liming_kj", name="李明", state=RealnameState.VERIFIED_ONLINE)
    grant(lite.database, unit_id, person, "tech_contract", "事项办理员", expires_on=date(2026, 11, 1))
    conversation = verified_in_english(lite, "grant", "liming_kj")
    assert conversation.ask == "system_name"
    assert {"title": "Technology Contract Management and Service (技术合同管理与服务)",
            "payload": "技术合同管理与服务"} in conversation.buttons
    conversation.say("technology contract")
    assert conversation.ask == "confirm_request"
    assert "expired on 2026-11-01" in conversation.text and "事项办理员 (Item Handler)" in conversation.text
    assert [b["title"] for b in conversation.buttons] == ["Yes, text the administrator", "No, thanks"]
    conversation.say("yes please")
    assert conversation.done
    if admin_phone:
        assert conversation.text.startswith("I've sent an SMS to your unit's administrator")
        assert mask_phone(ADMIN_PHONE) in conversation.text and "事项办理员 (Item Handler)" in conversation.text
    else:
        assert conversation.text == tr("checks.admin_without_phone", "en")
    assert is_english(conversation.text)


# -- refusals of what the user typed ------------------------------------------------------------


def test_english_bad_id_number_is_explained_in_english_and_asked_again(lite):
    conversation = english(lite, "registered_id")
    conversation.start()
    conversation.say(ID_BAD_CHECKSUM)
    assert conversation.ask == "account_ref"
    refusal, question = conversation.outcome.messages[0]["text"], conversation.outcome.messages[-1]["text"]
    assert refusal == "The check digit of this ID number is wrong; probably one character was mistyped. " \
                      "Please check it and enter it again."
    assert question == tr("flows.ref_registered_id", "en")
    assert lite.codes_sent() == 0


def test_a_refusal_carries_its_key_str_stays_chinese():
    with pytest.raises(InvalidInput) as short:
        checks.parse_mainland_id("1101011990")
    assert str(short.value) == "居民身份证号应为 18 位（前 17 位是数字，最后一位是数字或 X），您输入的是 10 位。请核对后重新输入。"
    assert short.value.text("en").startswith("A Resident Identity Card number has 18 characters")
    assert "you entered 10" in short.value.text("en")
    # A value worded per language: the field's name, and the list of document types.
    with pytest.raises(InvalidInput) as quoted:
        checks.parse_login_name("zhang'san")
    assert str(quoted.value).startswith("登录名里不能含有 '")
    assert quoted.value.text("en").startswith("The login name must not contain '")
    with pytest.raises(InvalidInput) as unknown:
        checks.parse_document_type("library card")
    assert "居民身份证、外国人永久居留证" in str(unknown.value)
    assert "Resident Identity Card (居民身份证), Foreign Permanent Resident ID Card" in unknown.value.text("en")
    # A plain message (no key) says itself in every language.
    assert InvalidInput("原样").text("en") == "原样"


def test_upload_refusals_in_english_keep_the_facts():
    limit = config.get_int("MAX_UPLOAD_BYTES")
    refusals = upload_refusals(limit, "en")
    assert refusals["too_large"] == f"The photo is too large: {{size}} MB; the limit is {megabytes(limit)} MB. " \
                                    "Please compress it and choose it again."
    assert "jpg, jpeg or png" in refusals["not_a_photo"]
    assert upload_refusals(limit) == upload_refusals(limit, "zh")
    with pytest.raises(InvalidInput) as pdf:
        check_image(b"%PDF-1.4 not a photo", limit)
    assert pdf.value.text("en").startswith("This file is actually a PDF document.")
    assert str(pdf.value).startswith("这个文件实际上是PDF 文档，")


# -- English answers are understood --------------------------------------------------------------


def test_english_answers_to_the_appeal_questions_are_read(lite):
    conversation = english(lite, "appeal")
    conversation.start()
    assert [button["payload"] for button in conversation.buttons] == ["个人账号", "单位账号"]
    assert conversation.buttons[0]["title"] == "Personal account"
    conversation.say("personal account")
    assert conversation.ask == "person_name"
    conversation.say("My name is John Smith")
    assert conversation.ask == "doc_type"
    assert {"title": "Foreign passport (境外护照)", "payload": "境外护照"} in conversation.buttons
    conversation.say("passport")
    assert conversation.ask == "doc_number"
    assert conversation.slots["doc_type"] == "境外护照"


@pytest.mark.parametrize("text, key", [("HGR", "human_genetic"), ("high-tech enterprise", "high_tech"),
                                        ("SME", "sme"), ("technology contract", "tech_contract")])
def test_english_system_names_are_found(text, key):
    assert find_system(text).key == key


# -- every text exists in English -------------------------------------------------------------------



@pytest.mark.parametrize("flow", list(FLOWS))
@pytest.mark.parametrize("slot", FLOW_SLOTS)
def test_every_prompt_of_every_flow_exists_in_english(flow, slot):
    for variant in SLOT_VARIANTS:
        chinese = prompt(Context({"flow": flow, **variant}, "sender"), slot)
        question = prompt(Context({"flow": flow, "language": "en", **variant}, "sender"), slot)
        assert is_english(question["text"]), question["text"]
        assert question["text"] != chinese["text"]
        buttons = question.get("buttons", [])
        # Titles in English, payloads those of the Chinese buttons (the readers read them).
        assert [b["payload"] for b in buttons] == [b["payload"] for b in chinese.get("buttons", [])]
        assert all(is_english(b["title"]) for b in buttons), buttons


def test_buttons_keep_their_payloads_in_english():
    for (title_key, payload), chinese in ((APPEAL, APPEAL_BUTTON), (RESET, RESET_BUTTON), (HUMAN, HUMAN_BUTTON)):
        assert button(title_key, payload, "en")["payload"] == chinese["payload"] == payload
        assert is_english(button(title_key, payload, "en")["title"])


def test_names_of_document_types_systems_roles_and_states_keep_the_chinese_beside():
    for doc in checks.DOCUMENT_TYPES:
        key = checks.DOCUMENT_TYPE_KEYS[doc.name]
        assert tr(key, "zh") == doc.name and tr(key, "en").endswith(f"({doc.name})")
    assert set(SYSTEM_NAME_KEYS) == {system.key for system in SYSTEMS}
    for system in SYSTEMS:
        key = SYSTEM_NAME_KEYS[system.key]
        assert tr(key, "zh") == system.name and tr(key, "en").endswith(f"({system.name})")
    for role, key in ROLE_KEYS.items():
        assert tr(key, "zh") == role and tr(key, "en").startswith(f"{role} (")
    for state, key in REALNAME_STATE_KEYS.items():
        assert tr(key, "en").startswith(REALNAME_STATE_LABELS[state] + " (")
    assert review_duration("zh") == REVIEW_DURATION  # the Chinese wording, from the same number
    assert tr("labels.decision_rejected", "en") == "not approved" and Decision.REJECTED


def test_english_appeal_status_of_this_conversation(lite):
    from tests.accounts.test_flows import file_appeal

    file_appeal(lite, SENDER)
    conversation = english(lite, "appeal_status")
    conversation.start()
    assert conversation.done
    assert conversation.text.startswith("Your appeals:\nAppeal ")
    assert ": under review" in conversation.text and f"1–{REVIEW_WORKING_DAYS} working days" in conversation.text
    assert ID_NUMBER not in conversation.text
    assert " Beijing time" in conversation.text and "北京时间" not in conversation.text


def test_english_pending_review_gives_its_date_in_beijing_time(lite):
    from tests.accounts.test_flows import review

    account_id = natural(lite.database)
    review(lite, account_id)  # Monday 2026-11-23, 22:00 UTC: Tuesday 06:00 in Beijing
    conversation = verified_in_english(lite, "realname", "zhangsan")
    assert conversation.done
    assert "2026-11-24 06:00 Beijing time" in conversation.text and "北京时间" not in conversation.text
