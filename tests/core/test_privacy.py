"""What the conversation store may hold (bot/privacy.py, bot/channels/tracker_store.py): ID
numbers and phones masked wherever they were written, answers to identity questions masked
whole, the identity token removed; Rasa's own tracker (restored from the store) still works.
The notice is formatted from RETENTION_DAYS."""
import asyncio
import json
import sqlite3

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.accounts.flows.base import Context
from bot.accounts.flows.prompts import asks_for_identity, privacy_notice
from bot.accounts.masking import mask_document, mask_name, mask_phone
from bot.channels.tracker_store import PrivateSQLTrackerStore
from bot.privacy import mask_text, published_values, retention_cutoff, scrub_events

ID_NUMBER = "110101199003074514"
PHONE = "13912345678"
TOKEN = "eyJsb2dpbl9uYW1lIjoiemhhbmdzYW4ifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def user(text, **metadata):
    return {"event": "user", "text": text, "metadata": metadata,
            "parse_data": {"text": text, "intent": {"name": "inform"},
                           "entities": [{"entity": "id_number", "value": ID_NUMBER},
                                        {"entity": "phone", "value": PHONE}]}}


def test_mask_text_masks_id_numbers_and_phones_and_nothing_else():
    text = f"身份证{ID_NUMBER}，手机 +86 139-1234-5678，登录名 zhang_san1，验证码 123456"
    masked = mask_text(text)
    assert ID_NUMBER not in masked and "5678" in masked and "139" in masked
    assert mask_document(ID_NUMBER) in masked and mask_phone(PHONE) in masked
    assert "zhang_san1" in masked and "123456" in masked
    assert mask_text("你好") == "你好" and mask_text("") == ""


def test_mask_text_keeps_the_rest_of_the_text_as_written():
    """Found in the NFKC form (full-width digits are digits), replaced where they stand: the
    widget's history shows a message with its full-width punctuation as it was sent (the
    load test found history and live view differing in every such character)."""
    assert mask_text("请联系（手机１３９１２３４５６７８），谢谢！") == f"请联系（手机{mask_phone(PHONE)}），谢谢！"
    assert mask_text(f"因公出国（境）：{ID_NUMBER}。") == f"因公出国（境）：{mask_document(ID_NUMBER)}。"


def test_numbers_the_answers_publish_stay_in_bot_messages_only():
    answer = "因公出国（境）业务咨询：技术电话 18003435512。"
    published = published_values([answer, "你好"])
    assert published == {"18003435512"}
    bot, said = scrub_events([{"event": "bot", "text": answer}, user("技术电话是18003435512吗")], published=published)
    assert bot["text"] == answer
    assert "18003435512" not in said["text"]
    [other] = scrub_events([{"event": "bot", "text": f"已发送到 {PHONE}"}], published=published)
    assert other["text"] == f"已发送到 {mask_phone(PHONE)}"


def test_user_text_its_nlu_copy_entities_and_display_text_are_masked():
    [event] = scrub_events([user(f"身份证号{ID_NUMBER} 手机{PHONE}", display_text=f"我的手机{PHONE}")])
    dumped = json.dumps(event, ensure_ascii=False)
    assert ID_NUMBER not in dumped and PHONE not in dumped
    assert event["text"] == event["parse_data"]["text"] == f"身份证号{mask_document(ID_NUMBER)} 手机{mask_phone(PHONE)}"
    assert [entity["value"] for entity in event["parse_data"]["entities"]] == [mask_document(ID_NUMBER),
                                                                               mask_phone(PHONE)]
    assert event["metadata"]["display_text"] == f"我的手机{mask_phone(PHONE)}"


def test_the_identity_token_is_removed_wherever_it_is():
    events = scrub_events([
        user("忘记密码", identity_token=TOKEN, upload_id="abc"),
        {"event": "slot", "name": "session_started_metadata", "value": {"identity_token": TOKEN, "x": [
            {"identity_token": TOKEN}]}},
    ])
    assert TOKEN not in json.dumps(events)
    assert events[0]["metadata"] == {"upload_id": "abc"}
    assert events[1]["value"] == {"x": [{}]}


def test_an_answer_the_flow_took_for_a_name_is_masked_whole():
    events = scrub_events([
        user("欧阳明远"),
        {"event": "action", "name": "account_form"},
        {"event": "slot", "name": "person_name", "value": "欧阳明远"},
        {"event": "slot", "name": "requested_slot", "value": "doc_type"},
    ], requested="person_name")
    assert events[0]["text"] == events[0]["parse_data"]["text"] == mask_name("欧阳明远")
    assert events[2]["value"] == mask_name("欧阳明远")


def test_a_message_that_was_no_answer_keeps_its_words():
    events = scrub_events([user("转人工"), {"event": "action", "name": "utter_handoff"}], requested="person_name")
    assert events[0]["text"] == "转人工"


def test_a_refused_number_answer_loses_its_digits_all_the_same():
    events = scrub_events([user("证件号 11010119900307451"), {"event": "slot", "name": "doc_number", "value": None}],
                          requested="doc_number")
    assert "11010119900307451" not in events[0]["text"]


def test_bot_texts_and_plain_slots_are_masked_signed_slots_untouched():
    signed = "7|2099-01-01T00:00:00|-13912345678abc"
    events = scrub_events([
        {"event": "bot", "text": f"已发送到 {PHONE}"},
        {"event": "slot", "name": "phone", "value": PHONE},
        {"event": "slot", "name": "verified_account", "value": signed},
        {"event": "slot", "name": "flow_data", "value": {"code_phone": mask_phone(PHONE)}},
    ])
    assert events[0]["text"] == f"已发送到 {mask_phone(PHONE)}"
    assert events[1]["value"] == mask_phone(PHONE)
    assert events[2]["value"] == signed


def test_the_events_given_are_not_changed():
    original = user(ID_NUMBER, identity_token=TOKEN)
    scrub_events([original])
    assert original["text"] == ID_NUMBER and original["metadata"]["identity_token"] == TOKEN


# -- the tracker store ------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    domain = Domain.from_dict({"slots": {"person_name": {"type": "text", "mappings": [{"type": "custom"}]}}})
    path = tmp_path / "tracker.db"
    yield PrivateSQLTrackerStore(domain=domain, host=f"sqlite:///{path}"), domain, path


def test_the_store_writes_scrubbed_events_and_rasa_reads_them_back(store):
    tracker_store, domain, path = store
    tracker = DialogueStateTracker("rest:someone", domain.slots)
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(SlotSet("requested_slot", "person_name"))
    tracker.update(UserUttered(f"我叫欧阳明远，身份证{ID_NUMBER}", metadata={"identity_token": TOKEN}))
    tracker.update(SlotSet("person_name", "欧阳明远"))
    tracker.update(BotUttered(f"验证码已发送到 {PHONE}"))
    asyncio.run(tracker_store.save(tracker))
    # A second save stores only what came after (Rasa's own rule), scrubbed too.
    tracker.update(UserUttered(f"手机 {PHONE}"))
    asyncio.run(tracker_store.save(tracker))

    with sqlite3.connect(path) as connection:
        raw = "\n".join(row[0] for row in connection.execute("SELECT data FROM events ORDER BY id"))
        count = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert count == len(tracker.events)
    for secret in (ID_NUMBER, PHONE, TOKEN, "欧阳明远", json.dumps("欧阳明远")[1:-1]):
        assert secret not in raw

    restored = asyncio.run(tracker_store.retrieve("rest:someone"))
    assert restored.get_slot("person_name") == mask_name("欧阳明远")
    assert restored.latest_message.text == f"手机 {mask_phone(PHONE)}"
    assert [type(event) for event in restored.events] == [type(event) for event in tracker.events]


def test_the_store_keeps_the_domains_own_answers_as_written(tmp_path):
    answer = "因公出国（境）业务咨询：otm@most.cn，技术电话 18003435512。"
    domain = Domain.from_dict({"responses": {"utter_faq/overseas": [{"text": answer}]}})
    tracker_store = PrivateSQLTrackerStore(domain=domain, host=f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker = DialogueStateTracker("widget:someone", domain.slots)
    tracker.update(BotUttered(answer))
    tracker.update(BotUttered(f"验证码已发送到 {PHONE}（请查收）"))
    asyncio.run(tracker_store.save(tracker))
    restored = asyncio.run(tracker_store.retrieve("widget:someone"))
    assert [event.text for event in restored.events] == [answer, f"验证码已发送到 {mask_phone(PHONE)}（请查收）"]


# -- the notice --------------------------------------------------------------------------------

def test_the_notice_states_retention_days(monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "45")
    assert "45 天" in privacy_notice()


@pytest.mark.parametrize("flow, slot, asks", [
    ("appeal", "doc_number", True), ("appeal", "photo_front", True), ("realname", "photo_back", True),
    ("registered_id", "account_ref", True), ("realname", "account_ref", True), ("reset", "account_ref", False),
    ("registered_unit", "account_ref", False), ("appeal", "person_name", False), ("appeal", "phone", False),
])
def test_which_questions_ask_for_an_identity_number_or_a_photo(flow, slot, asks):
    assert asks_for_identity(Context({"flow": flow}, "s"), slot) is asks


def test_the_retention_cutoff(monkeypatch):
    from datetime import datetime
    assert retention_cutoff(datetime(2026, 3, 31), {"RETENTION_DAYS": "30"}) == datetime(2026, 3, 1)
    with pytest.raises(ValueError):
        retention_cutoff(datetime(2026, 3, 31), {"RETENTION_DAYS": "0"})
